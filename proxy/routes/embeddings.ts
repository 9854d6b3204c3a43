/** POST /v1/embeddings: forwarded to the model's provider and logged like chat. */
import { formatUsd, logCall, routingHeaders, type AppContext } from '../context';
import { DEFAULT_MAX_BODY_BYTES, numberVar } from '../env';
import { readJsonBody } from '../body';
import { resolveModel, tiersFor } from '../models';
import { PROVIDERS } from '../providers';
import { parseEmbeddingsRequest } from '../validation';

export async function embeddings(c: AppContext): Promise<Response> {
  const call = c.get('call');
  call.endpoint = 'embeddings';
  const body = parseEmbeddingsRequest(await readJsonBody(c.req.raw, numberVar(c.env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES)));
  call.modelRequested = body.model;
  const resolved = resolveModel(c.env, tiersFor(c.env, c.get('tenant').tenant), body.model, 'embeddings');
  call.resolved = resolved;
  const result = await PROVIDERS[resolved.provider].embeddings({ model: resolved.model, body, env: c.env, signal: c.req.raw.signal });
  const record = logCall(c, { status: 200, usage: result.usage });
  return new Response(result.json, {
    headers: { 'content-type': 'application/json', ...routingHeaders(resolved, 'BYPASS'), 'x-proxy-cost-usd': formatUsd(record.costNano) },
  });
}
