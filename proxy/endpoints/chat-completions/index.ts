/**
 * POST /v1/chat/completions: route to a tier, answer from the response cache when allowed,
 * otherwise call the provider, plain or streaming; log every outcome.
 */
import { readJsonBody } from '../../http/body';
import { CompletionAssembler, replayAsStream } from './chunks';
import { attemptHooks, callRecord, formatUsd, keepRequest, logCall, routingHeaders, type AppContext } from '../../pipeline/call';
import { clientClosed } from '../../core/errors';
import { DEFAULT_MAX_BODY_BYTES, numberVar } from '../../core/env';
import { fallbackFor, failoverPolicy, withFailover, type Attempt } from '../../routing/failover';
import { meterStream, type MeterOptions, type StreamOutcome } from '../../streaming/metered-stream';
import { passThroughStream } from '../../streaming/pass-through-stream';
import { tiersFor, type ResolvedModel, type Tiers } from '../../routing/models';
import { PROVIDERS } from '../../providers';
import { estimatePromptTokens } from '../../providers/content';
import type { ChatRequest, ChatResult, SentBody } from '../../providers/types';
import { withFirst, type PartReader } from '../../streaming/parts';
import { admitCall, type Admission } from '../../limits/admission';
import { effectivePrice } from '../../pricing/overrides';
import { writeRequestLog, type CacheStatus } from '../../request-log/writer';
import { decideCaching, readCachedCompletion, storeCompletion, type CachedCompletion } from '../../cache/response-cache';
import { routeChat } from '../../routing/tiers';
import type { Usage } from '../../core/usage';
import { parseChatRequest } from '../../http/validation';

/**
 * What to bill for a stream that ended without the provider's final usage (abandoned or
 * failed): the last usage reported, or else an estimate from the prompt and the chunks sent.
 */
function streamUsage(outcome: StreamOutcome, body: ChatRequest): { usage: Usage; estimated: boolean } {
  if (outcome.usageFinal && outcome.usage) return { usage: outcome.usage, estimated: false };
  const reported = outcome.usage;
  return {
    usage: {
      promptTokens: reported?.promptTokens || estimatePromptTokens(body.messages),
      completionTokens: Math.max(reported?.completionTokens ?? 0, outcome.chunksSent),
      cachedTokens: reported?.cachedTokens ?? 0,
      cacheWriteTokens: reported?.cacheWriteTokens ?? 0,
    },
    estimated: true,
  };
}

/** Tokens reserved against the tenant's tpm before the call: the prompt plus the completion allowance. */
const DEFAULT_COMPLETION_RESERVE = 1024;
const reservationFor = (body: ChatRequest) => estimatePromptTokens(body.messages) + (body.max_completion_tokens ?? body.max_tokens ?? DEFAULT_COMPLETION_RESERVE);
const tokensOf = (usage: Usage) => usage.promptTokens + usage.completionTokens;

interface StreamHandling {
  cache: CacheStatus;
  admission: Admission;
  /** Receives the assembled answer of a stream that completed. */
  onComplete?: (json: string, usage: Usage) => Promise<unknown>;
}

/** A streamed answer: its parts, and the upstream's bytes when they can be passed through (providers/types.ts). */
type StreamedAnswer = Pick<Extract<ChatResult, { kind: 'stream' }>, 'parts' | 'passThrough'>;

function streamResponse(c: AppContext, body: ChatRequest, answer: StreamedAnswer, headers: Record<string, string>, handling: StreamHandling): Response {
  const call = c.get('call');
  const { parts, passThrough } = answer;
  // The client left while the answer was being prepared (a cache read, say): its row is written.
  if (call.logged) {
    parts.cancel().catch(() => {});
    throw clientClosed();
  }
  // The answer is assembled when it is to be cached or stored with the call.
  const assembler = handling.onComplete || call.requestText !== null ? new CompletionAssembler() : null;
  const options: MeterOptions = {
    includeUsage: body.stream_options?.include_usage === true,
    startedAt: c.get('startedAt'),
    idleTimeoutMs: failoverPolicy(c.env).idleTimeoutMs,
    onChunk: assembler ? (data) => assembler.add(data) : undefined,
    onEnd: async (outcome) => {
      if (outcome.status === 499) call.controller.abort();
      const { usage, estimated } = streamUsage(outcome, body);
      handling.admission.settle(handling.cache === 'HIT' ? 0 : tokensOf(usage));
      const completed = assembler && outcome.status === 200 && !estimated ? assembler.result(usage) : null;
      await Promise.all([
        completed && handling.onComplete ? handling.onComplete(completed, usage) : null,
        writeRequestLog(c.env, callRecord(c, { status: outcome.status, error: outcome.error, usage, usageEstimated: estimated, ttftMs: outcome.ttftMs, cache: handling.cache, responseText: completed })),
      ]);
    },
  };
  const { body: stream, ended } = passThrough ? passThroughStream(passThrough, parts, { ...options, clientSignal: c.req.raw.signal }) : meterStream(parts, options);
  // From here the metered stream writes the call's row, however the stream ends.
  call.logged = true;
  c.executionCtx.waitUntil(ended);
  return new Response(stream, {
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers },
  });
}

/** A cache hit consumes no tokens: its whole reservation is given back. */
function answerFromCache(c: AppContext, body: ChatRequest, headers: Record<string, string>, hit: CachedCompletion, admission: Admission): Response {
  if (body.stream) return streamResponse(c, body, { parts: replayAsStream(hit.json, hit.usage) }, headers, { cache: 'HIT', admission });
  admission.settle(0);
  logCall(c, { status: 200, usage: hit.usage, cache: 'HIT', responseText: hit.json });
  return new Response(hit.json, { headers: { 'content-type': 'application/json', ...headers, 'x-proxy-cost-usd': formatUsd(0) } });
}

/**
 * Waits for a stream's first part (the upstream's first byte of content), so that a stream
 * failing before it can still be retried; the part is put back in front of the rest.
 */
async function started(parts: PartReader, attempt: Attempt, timeoutMs: number): Promise<PartReader> {
  try {
    return withFirst(await attempt.within(timeoutMs, parts.read()), parts);
  } catch (error) {
    parts.cancel().catch(() => {});
    throw error;
  }
}

/** Calls the routed model, with retries and then the fallback (failover.ts), until an answer starts. */
async function callUpstream(c: AppContext, body: ChatRequest, raw: SentBody, routed: ResolvedModel, tiers: Tiers): Promise<ChatResult> {
  const call = c.get('call');
  const policy = failoverPolicy(c.env);
  const fallback = fallbackFor(c.env, tiers, routed);
  return withFailover(
    fallback ? [routed, fallback] : [routed],
    policy,
    call.controller.signal,
    async (attempt) => {
      const { model } = attempt;
      if (model !== routed) model.price = await effectivePrice(c.env, model.id, model.price);
      const chat = PROVIDERS[model.provider].chat({ model: model.model, body, raw, env: c.env, signal: attempt.signal, promptCacheKey: `tenant-${c.get('tenant').tenantId}` });
      const result = await attempt.within(body.stream ? policy.connectTimeoutMs : policy.firstByteTimeoutMs, chat);
      return result.kind === 'stream' ? { ...result, parts: await started(result.parts, attempt, policy.firstByteTimeoutMs) } : result;
    },
    attemptHooks(call),
  );
}

export async function chatCompletions(c: AppContext): Promise<Response> {
  const call = c.get('call');
  const { tenantId, tenant } = c.get('tenant');
  const raw = await readJsonBody(c.req.raw, numberVar(c.env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES));
  const body = parseChatRequest(raw.value);
  call.modelRequested = body.model;
  call.stream = body.stream === true;
  keepRequest(c, body);
  call.promptTokens = estimatePromptTokens(body.messages);
  const tiers = tiersFor(c.env, tenant);
  const routed = routeChat(c.env, tiers, tenant.routing, body, c.req.header('x-task') ?? null);
  call.resolved = call.routed = routed;
  routed.price = await effectivePrice(c.env, routed.id, routed.price);

  const admission = await admitCall(c, reservationFor(body));
  const caching = await decideCaching(c.req.raw, body, { tenantId, cacheTtlS: tenant.cache_ttl_s }, routed.id);
  if (caching.mode === 'use') {
    const hit = await readCachedCompletion(c.env.KV, caching.key);
    if (hit) return answerFromCache(c, body, routingHeaders(call, 'HIT'), hit, admission);
  }
  const cacheStatus: CacheStatus = caching.mode === 'use' ? 'MISS' : 'BYPASS';

  let result: ChatResult;
  try {
    result = await callUpstream(c, body, raw, routed, tiers);
  } catch (error) {
    admission.settle(0);
    throw error;
  }
  const headers = routingHeaders(call, cacheStatus);
  // The cache key names the routed model: a fallback's answer is not stored under it.
  const store =
    caching.mode === 'off' || call.resolved !== routed
      ? undefined
      : (json: string, usage: Usage) => storeCompletion(c.env.KV, caching.key, caching.ttlS, { json, usage, model: routed.id });

  if (result.kind === 'stream') return streamResponse(c, body, result, headers, { cache: cacheStatus, admission, onComplete: store });

  admission.settle(tokensOf(result.usage));
  const record = logCall(c, { status: 200, usage: result.usage, cache: cacheStatus, responseText: result.json });
  if (store) c.executionCtx.waitUntil(store(result.json, result.usage));
  return new Response(result.json, {
    headers: { 'content-type': 'application/json', ...headers, 'x-proxy-cost-usd': formatUsd(record.costNano) },
  });
}
