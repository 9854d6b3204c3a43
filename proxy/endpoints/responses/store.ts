/**
 * The responses the proxy answers for, per tenant, in KV with OpenAI's own retention (30 days):
 * what makes `previous_response_id`, `GET` and `DELETE /v1/responses/{id}` work on both paths.
 * - A native response lives at its provider; the proxy keeps only which model made it (a call
 *   that continues it must go back to that model) and whose it is (another tenant's id is a 404).
 * - A translated response exists only here: the Response itself and the conversation it ends
 *   (the messages of the internal form), which a call that continues it is given as history.
 */
import type { ChatMessage } from '../../providers/types';

/** OpenAI keeps a stored response for 30 days. */
const RETENTION_S = 30 * 24 * 3600;

export type StoredResponse =
  | { native: true; /** `provider/model` that made it */ model: string }
  | { native: false; model: string; /** the Response JSON, as served */ response: string; conversation: ChatMessage[] };

const keyOf = (tenantId: string, id: string) => `resp:${tenantId}:${id}`;

export async function readStoredResponse(kv: KVNamespace, tenantId: string, id: string): Promise<StoredResponse | null> {
  return kv.get<StoredResponse>(keyOf(tenantId, id), 'json');
}

/** Keeps a response; a failure is logged, not thrown: the answer has already been served. */
export async function storeResponse(kv: KVNamespace, tenantId: string, id: string, entry: StoredResponse): Promise<void> {
  try {
    await kv.put(keyOf(tenantId, id), JSON.stringify(entry), { expirationTtl: RETENTION_S });
  } catch (error) {
    console.warn('responses: could not keep response', id, error instanceof Error ? error.message : error);
  }
}

export const deleteStoredResponse = (kv: KVNamespace, tenantId: string, id: string) => kv.delete(keyOf(tenantId, id));
