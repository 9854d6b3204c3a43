/**
 * POST /v1/chat/completions: route to a tier, answer from the response cache when allowed,
 * otherwise call the provider, plain or streaming, through the shared pipeline; every outcome
 * is logged.
 */
import type { CacheStatus } from '../../core/request-record';
import type { Usage } from '../../core/usage';
import { decideCaching, readCachedCompletion, storeCompletion } from '../../cache/response-cache';
import type { AppContext } from '../../http/context';
import { PROVIDERS } from '../../providers';
import { promptCacheSalt } from '../../providers/prompt-cache-salt';
import { chatFraming } from '../../streaming/framing';
import { estimateRequestTokens } from '../../providers/content';
import type { ChatRequest, ChatResult } from '../../providers/types';
import { fallbackFor } from '../../routing/failover';
import { tiersFor } from '../../routing/models';
import { routeChat } from '../../routing/tiers';
import { admit } from '../../pipeline/admission';
import { answerFromCache } from '../../pipeline/cached-answer';
import { formatUsd, logCall, routingHeaders, sampleForEvaluation } from '../../pipeline/call';
import { readCallRequest, routeCallTo } from '../../pipeline/request';
import { streamResponse } from '../../pipeline/stream-response';
import { callUpstream, firstPart } from '../../pipeline/upstream';
import { completionMessage } from '../../evaluation/judge';
import { CompletionAssembler, replayAsStream } from './chunks';
import { parseChatRequest } from './schema';

/** How a chat stream is written: OpenAI's chunks, the usage chunk only if the client asked for it. */
const chatStream = (body: ChatRequest) => ({
  includeUsage: body.stream_options?.include_usage === true,
  framing: chatFraming,
  assembler: () => new CompletionAssembler(),
});

export async function chatCompletions(c: AppContext): Promise<Response> {
  const call = c.get('call');
  const { tenantId, tenant } = c.get('tenant');
  const { raw, body } = await readCallRequest(c, 'chat', parseChatRequest, (chat) => ({
    model: chat.model,
    stream: chat.stream === true,
    promptTokens: estimateRequestTokens(chat),
    reasoning: chat.reasoning_effort !== undefined && chat.reasoning_effort !== null && chat.reasoning_effort !== 'none',
    user: chat.user,
  }));
  const tiers = tiersFor(c.env, tenant);
  const taskHint = c.req.header('x-task') ?? null;
  const routed = await routeCallTo(c, routeChat(c.env, tiers, tenant.routing, body, taskHint, tenant.task_tiers));
  sampleForEvaluation(c, () => ({ request: body, unstored: body.store === false, answer: completionMessage }));

  await admit(c, call.promptTokens, body.max_completion_tokens ?? body.max_tokens);
  const caching = await decideCaching(c.req.raw, 'chat', body, { tenantId, cacheTtlS: tenant.cache_ttl_s }, routed.id);
  if (caching.mode === 'use') {
    const hit = await readCachedCompletion(c.env.KV, caching.key);
    if (hit) return answerFromCache(c, hit, body.stream ? { parts: replayAsStream(hit.json, hit.usage), ...chatStream(body) } : null);
  }
  const cacheStatus: CacheStatus = caching.mode === 'use' ? 'MISS' : 'BYPASS';

  const salt = promptCacheSalt(c.get('tenant'));
  const result: ChatResult = await callUpstream(c, routed, fallbackFor(c.env, tiers, routed), async (attempt, policy) => {
    const { model } = attempt;
    const chat = PROVIDERS[model.provider].chat({
      model: model.model,
      body,
      raw,
      env: c.env,
      signal: attempt.signal,
      promptCacheKey: `tenant-${tenantId}`,
      promptCacheSalt: salt,
    });
    const answer = await attempt.within(body.stream ? policy.connectTimeoutMs : policy.firstByteTimeoutMs, chat);
    return answer.kind === 'stream' ? { ...answer, parts: await firstPart(answer.parts, attempt, policy.firstByteTimeoutMs) } : answer;
  });
  const headers = routingHeaders(call, cacheStatus);
  // The cache key names the routed model: a fallback's answer is not stored under it.
  const store =
    caching.mode === 'off' || call.resolved !== routed
      ? undefined
      : (json: string, usage: Usage) => storeCompletion(c.env.KV, caching.key, caching.ttlS, { json, usage, model: routed.id });

  if (result.kind === 'stream') return streamResponse(c, result, headers, { ...chatStream(body), cache: cacheStatus, onComplete: store });

  const record = logCall(c, { status: 200, usage: result.usage, cache: cacheStatus, responseText: result.json });
  if (store) c.executionCtx.waitUntil(store(result.json, result.usage));
  return new Response(result.json, {
    headers: { 'content-type': 'application/json', ...headers, 'x-proxy-cost-usd': formatUsd(record.costNano) },
  });
}
