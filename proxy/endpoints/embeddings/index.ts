/** POST /v1/embeddings: forwarded to the model's provider and logged like chat. */
import { attemptHooks, formatUsd, keepRequest, logCall, routingHeaders, type AppContext } from '../../pipeline/call';
import { DEFAULT_MAX_BODY_BYTES, numberVar } from '../../core/env';
import { readJsonBody } from '../../http/body';
import { resolveModel, tiersFor } from '../../routing/models';
import { PROVIDERS } from '../../providers';
import { parseEmbeddingsRequest } from '../../http/validation';
import { admitCall } from '../../limits/admission';
import { embeddingsFallbackFor, failoverPolicy, withFailover } from '../../routing/failover';
import { effectivePrice } from '../../pricing/overrides';
import type { EmbeddingsRequest, EmbeddingsResult } from '../../providers/types';
import { estimateTokens } from '../../core/usage';

/** Input size for the tpm reservation: text is estimated, token arrays are counted. */
function inputTokens(input: EmbeddingsRequest['input']): number {
  const items: Array<string | number | number[]> = Array.isArray(input) ? input : [input];
  return items.reduce<number>((sum, item) => sum + (typeof item === 'string' ? estimateTokens(item) : Array.isArray(item) ? item.length : 1), 0);
}

export async function embeddings(c: AppContext): Promise<Response> {
  const call = c.get('call');
  call.endpoint = 'embeddings';
  const raw = await readJsonBody(c.req.raw, numberVar(c.env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES));
  const body = parseEmbeddingsRequest(raw.value);
  call.modelRequested = body.model;
  call.promptTokens = inputTokens(body.input);
  // The request is kept for tenants that store content; the vectors are not worth keeping.
  keepRequest(c, body);
  const tiers = tiersFor(c.env, c.get('tenant').tenant);
  const resolved = resolveModel(c.env, tiers, body.model, 'embeddings');
  call.resolved = call.routed = resolved;
  resolved.price = await effectivePrice(c.env, resolved.id, resolved.price);
  const admission = await admitCall(c, call.promptTokens);
  const policy = failoverPolicy(c.env);
  const fallback = embeddingsFallbackFor(c.env, tiers, resolved);
  let result: EmbeddingsResult;
  try {
    // Retried like chat, then FALLBACK_EMBEDDINGS_MODEL when there is one.
    result = await withFailover(
      fallback ? [resolved, fallback] : [resolved],
      policy,
      call.controller.signal,
      async (attempt) => {
        const { model } = attempt;
        if (model !== resolved) model.price = await effectivePrice(c.env, model.id, model.price);
        return attempt.within(policy.firstByteTimeoutMs, PROVIDERS[model.provider].embeddings({ model: model.model, body, raw, env: c.env, signal: attempt.signal }));
      },
      attemptHooks(call),
    );
  } catch (error) {
    admission.settle(0);
    throw error;
  }
  admission.settle(result.usage.promptTokens);
  const record = logCall(c, { status: 200, usage: result.usage });
  return new Response(result.json, {
    headers: { 'content-type': 'application/json', ...routingHeaders(call, 'BYPASS'), 'x-proxy-cost-usd': formatUsd(record.costNano) },
  });
}
