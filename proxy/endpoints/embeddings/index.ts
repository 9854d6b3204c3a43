/** POST /v1/embeddings: forwarded to the model's provider through the shared pipeline and logged like chat. */
import { estimateTokens } from '../../core/usage';
import type { AppContext } from '../../http/context';
import { PROVIDERS } from '../../providers';
import type { EmbeddingsRequest } from '../../providers/types';
import { embeddingsFallbackFor } from '../../routing/failover';
import { resolveModel, tiersFor } from '../../routing/models';
import { admit } from '../../pipeline/admission';
import { formatUsd, logCall, routingHeaders } from '../../pipeline/call';
import { readCallRequest, routeCallTo } from '../../pipeline/request';
import { callUpstream } from '../../pipeline/upstream';
import { parseEmbeddingsRequest } from './schema';

/** Input size for the tpm reservation: text is estimated, token arrays are counted. */
function inputTokens(input: EmbeddingsRequest['input']): number {
  const items: Array<string | number | number[]> = Array.isArray(input) ? input : [input];
  return items.reduce<number>((sum, item) => sum + (typeof item === 'string' ? estimateTokens(item) : Array.isArray(item) ? item.length : 1), 0);
}

export async function embeddings(c: AppContext): Promise<Response> {
  const call = c.get('call');
  // The request is kept for tenants that store content; the vectors are not worth keeping.
  const { raw, body } = await readCallRequest(c, 'embeddings', parseEmbeddingsRequest, (request) => ({
    model: request.model,
    stream: false,
    promptTokens: inputTokens(request.input),
    user: request.user,
  }));
  const tiers = tiersFor(c.env, c.get('tenant').tenant);
  const resolved = await routeCallTo(c, resolveModel(c.env, tiers, body.model, 'embeddings'));
  await admit(c, call.promptTokens, 0);
  // Retried like chat, then FALLBACK_EMBEDDINGS_MODEL when there is one.
  const result = await callUpstream(c, resolved, embeddingsFallbackFor(c.env, tiers, resolved), (attempt, policy) =>
    attempt.within(
      policy.firstByteTimeoutMs,
      PROVIDERS[attempt.model.provider].embeddings({ model: attempt.model.model, body, raw, env: c.env, signal: attempt.signal }),
    ),
  );
  const record = logCall(c, { status: 200, usage: result.usage });
  return new Response(result.json, {
    headers: { 'content-type': 'application/json', ...routingHeaders(call, 'BYPASS'), 'x-proxy-cost-usd': formatUsd(record.costNano) },
  });
}
