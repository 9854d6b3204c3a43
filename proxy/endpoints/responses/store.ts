/**
 * The responses the proxy answers for, per tenant: what makes `previous_response_id`, `GET` and
 * `DELETE /v1/responses/{id}` work on both paths, for the tenant that made the response only.
 * - A native response lives at its provider; the proxy needs only whose it is (another tenant's
 *   id is a 404) and which model made it (a call that continues it must go back to that model).
 *   The call's request-log row says both: it carries the response's id (`response_id`), so
 *   keeping a native response costs no write of its own. Until the row is in D1 (a few
 *   milliseconds after the answer ends, longer when D1 is down and rows go through the queue),
 *   the isolate that served the call remembers it, and a lookup from another isolate waits a
 *   little for the row before it answers 404.
 * - A translated response exists only here, in KV with OpenAI's own retention (30 days): the
 *   Response itself and the conversation it ends (the messages of the internal form), which a
 *   call that continues it is given as history.
 */
import type { Env } from '../../core/env';
import type { ChatMessage } from '../../providers/types';

/** OpenAI keeps a stored response for 30 days. */
const RETENTION_S = 30 * 24 * 3600;

export type StoredResponse =
  | { native: true; /** `provider/model` that made it */ model: string }
  | { native: false; model: string; /** the Response JSON, as served */ response: string; conversation: ChatMessage[] };

const keyOf = (tenantId: string, id: string) => `resp:${tenantId}:${id}`;

/** Native responses this isolate served lately, until their rows are surely in D1: id → owner and model. */
const recentNative = new Map<string, { tenantId: string; model: string }>();
/** Far more than the calls an isolate serves while their rows are written; a few hundred KB at most. */
const MAX_RECENT_NATIVE = 5000;
/**
 * How long a lookup that finds no row waits for one being written, in steps: the row of a call
 * another isolate has just answered is usually in D1 well within the first.
 */
const ROW_WAITS_MS = [100, 300, 600];

/** Notes a native response this isolate served, for lookups that come before its row is written. */
export function noteNativeResponse(tenantId: string, id: string, model: string): void {
  recentNative.delete(id);
  recentNative.set(id, { tenantId, model });
  if (recentNative.size > MAX_RECENT_NATIVE) recentNative.delete(recentNative.keys().next().value!);
}

/** The native response's model, from its call's row; null when the tenant has no such response. */
async function nativeFromLog(db: D1Database, tenantId: string, id: string): Promise<StoredResponse | null> {
  const row = await db
    .prepare('SELECT model FROM requests WHERE response_id = ?1 AND tenant_id = ?2 AND model IS NOT NULL ORDER BY ts DESC LIMIT 1')
    .bind(id, tenantId)
    .first<{ model: string }>();
  return row ? { native: true, model: row.model } : null;
}

export async function readStoredResponse(env: Env, tenantId: string, id: string): Promise<StoredResponse | null> {
  const recent = recentNative.get(id);
  if (recent) return recent.tenantId === tenantId ? { native: true, model: recent.model } : null;
  // Either store may have it, and the ids look alike: both are asked at once, then the log again
  // while a row may still be on its way.
  const [translated, native] = await Promise.all([env.KV.get<StoredResponse>(keyOf(tenantId, id), 'json'), nativeFromLog(env.DB, tenantId, id)]);
  if (translated || native) return translated ?? native;
  for (const wait of ROW_WAITS_MS) {
    await new Promise((resolve) => setTimeout(resolve, wait));
    const found = await nativeFromLog(env.DB, tenantId, id);
    if (found) return found;
  }
  return null;
}

/** Keeps a translated response; a failure is logged, not thrown: the answer has already been served. */
export async function storeTranslatedResponse(kv: KVNamespace, tenantId: string, id: string, entry: StoredResponse & { native: false }): Promise<void> {
  try {
    await kv.put(keyOf(tenantId, id), JSON.stringify(entry), { expirationTtl: RETENTION_S });
  } catch (error) {
    console.warn('responses: could not keep response', id, error instanceof Error ? error.message : error);
  }
}

/** Forgets a response: its KV entry, or the id on its call's row. */
export async function deleteStoredResponse(env: Env, tenantId: string, id: string, stored: StoredResponse): Promise<void> {
  if (!stored.native) return env.KV.delete(keyOf(tenantId, id));
  recentNative.delete(id);
  await env.DB.prepare('UPDATE requests SET response_id = NULL WHERE response_id = ?1 AND tenant_id = ?2').bind(id, tenantId).run();
}
