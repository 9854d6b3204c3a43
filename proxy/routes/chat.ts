/**
 * POST /v1/chat/completions: route to a tier, answer from the response cache when allowed,
 * otherwise call the provider, plain or streaming; log every outcome.
 */
import { readJsonBody } from '../body';
import { CompletionAssembler, replayAsStream } from '../completion-chunks';
import { callRecord, formatUsd, logCall, routingHeaders, type AppContext } from '../context';
import { DEFAULT_MAX_BODY_BYTES, numberVar } from '../env';
import { meterStream, type StreamOutcome } from '../metered-stream';
import { tiersFor } from '../models';
import { PROVIDERS } from '../providers';
import { estimatePromptTokens } from '../providers/content';
import type { ChatRequest, ChatResult, StreamPart } from '../providers/types';
import { admitCall, type Admission } from '../limits';
import { effectivePrice } from '../prices';
import { writeRequestLog, type CacheStatus } from '../request-log';
import { decideCaching, readCachedCompletion, storeCompletion, type CachedCompletion } from '../response-cache';
import { routeChat } from '../router';
import type { Usage } from '../usage';
import { parseChatRequest } from '../validation';

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
  /** Cancels the upstream call when the client goes away. */
  upstream?: AbortController;
  /** Receives the assembled answer of a stream that completed. */
  onComplete?: (json: string, usage: Usage) => Promise<unknown>;
}

function streamResponse(c: AppContext, body: ChatRequest, parts: ReadableStream<StreamPart>, headers: Record<string, string>, handling: StreamHandling): Response {
  const assembler = handling.onComplete ? new CompletionAssembler() : null;
  const { body: stream, ended } = meterStream(parts, {
    includeUsage: body.stream_options?.include_usage === true,
    startedAt: c.get('startedAt'),
    onChunk: assembler ? (data) => assembler.add(data) : undefined,
    onEnd: async (outcome) => {
      if (outcome.status === 499) handling.upstream?.abort();
      const { usage, estimated } = streamUsage(outcome, body);
      handling.admission.settle(handling.cache === 'HIT' ? 0 : tokensOf(usage));
      const completed = assembler && outcome.status === 200 && !estimated ? assembler.result(usage) : null;
      await Promise.all([
        completed ? handling.onComplete!(completed, usage) : null,
        writeRequestLog(c.env, callRecord(c, { status: outcome.status, error: outcome.error, usage, usageEstimated: estimated, ttftMs: outcome.ttftMs, cache: handling.cache })),
      ]);
    },
  });
  c.executionCtx.waitUntil(ended);
  return new Response(stream, {
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers },
  });
}

/** A cache hit consumes no tokens: its whole reservation is given back. */
function answerFromCache(c: AppContext, body: ChatRequest, headers: Record<string, string>, hit: CachedCompletion, admission: Admission): Response {
  if (body.stream) return streamResponse(c, body, replayAsStream(hit.json, hit.usage), headers, { cache: 'HIT', admission });
  admission.settle(0);
  logCall(c, { status: 200, usage: hit.usage, cache: 'HIT' });
  return new Response(hit.json, { headers: { 'content-type': 'application/json', ...headers, 'x-proxy-cost-usd': formatUsd(0) } });
}

export async function chatCompletions(c: AppContext): Promise<Response> {
  const call = c.get('call');
  const { tenantId, tenant } = c.get('tenant');
  const body = parseChatRequest(await readJsonBody(c.req.raw, numberVar(c.env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES)));
  call.modelRequested = body.model;
  call.stream = body.stream === true;
  const resolved = routeChat(c.env, tiersFor(c.env, tenant), tenant.routing, body, c.req.header('x-task') ?? null);
  call.resolved = resolved;
  resolved.price = await effectivePrice(c.env, resolved.id, resolved.price);

  const admission = await admitCall(c, reservationFor(body));
  const caching = await decideCaching(c.req.raw, body, { tenantId, cacheTtlS: tenant.cache_ttl_s }, resolved.id);
  if (caching.mode === 'use') {
    const hit = await readCachedCompletion(c.env.KV, caching.key);
    if (hit) return answerFromCache(c, body, routingHeaders(resolved, 'HIT'), hit, admission);
  }
  const cacheStatus: CacheStatus = caching.mode === 'use' ? 'MISS' : 'BYPASS';
  const store = caching.mode === 'off' ? undefined : (json: string, usage: Usage) => storeCompletion(c.env.KV, caching.key, caching.ttlS, { json, usage, model: resolved.id });

  const upstream = new AbortController();
  let result: ChatResult;
  try {
    result = await PROVIDERS[resolved.provider].chat({ model: resolved.model, body, env: c.env, signal: upstream.signal, promptCacheKey: `tenant-${tenantId}` });
  } catch (error) {
    admission.settle(0);
    throw error;
  }
  const headers = routingHeaders(resolved, cacheStatus);

  if (result.kind === 'stream') return streamResponse(c, body, result.parts, headers, { cache: cacheStatus, admission, upstream, onComplete: store });

  admission.settle(tokensOf(result.usage));
  const record = logCall(c, { status: 200, usage: result.usage, cache: cacheStatus });
  if (store) c.executionCtx.waitUntil(store(result.json, result.usage));
  return new Response(result.json, {
    headers: { 'content-type': 'application/json', ...headers, 'x-proxy-cost-usd': formatUsd(record.costNano) },
  });
}
