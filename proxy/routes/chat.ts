/** POST /v1/chat/completions: plain and streaming, through whichever provider the model resolves to. */
import { callRecord, formatUsd, logCall, routingHeaders, type AppContext } from '../context';
import { DEFAULT_MAX_BODY_BYTES, numberVar } from '../env';
import { readJsonBody } from '../body';
import { meterStream, type StreamOutcome } from '../metered-stream';
import { resolveModel } from '../models';
import { PROVIDERS } from '../providers';
import { estimatePromptTokens } from '../providers/content';
import type { ChatRequest } from '../providers/types';
import { writeRequestLog } from '../request-log';
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

export async function chatCompletions(c: AppContext): Promise<Response> {
  const call = c.get('call');
  const body = parseChatRequest(await readJsonBody(c.req.raw, numberVar(c.env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES)));
  call.modelRequested = body.model;
  call.stream = body.stream === true;
  const resolved = resolveModel(c.env, body.model, 'chat');
  call.resolved = resolved;

  // Cancelled when the client abandons a stream, so the upstream stops generating (and billing).
  const upstream = new AbortController();
  const result = await PROVIDERS[resolved.provider].chat({ model: resolved.model, body, env: c.env, signal: upstream.signal });
  const headers = routingHeaders(resolved, 'BYPASS');

  if (result.kind === 'completion') {
    const record = logCall(c, { status: 200, usage: result.usage });
    return new Response(result.json, {
      headers: { 'content-type': 'application/json', ...headers, 'x-proxy-cost-usd': formatUsd(record.costNano) },
    });
  }

  const { body: stream, ended } = meterStream(result.parts, {
    includeUsage: body.stream_options?.include_usage === true,
    startedAt: c.get('startedAt'),
    onEnd: (outcome) => {
      if (outcome.status === 499) upstream.abort();
      const { usage, estimated } = streamUsage(outcome, body);
      return writeRequestLog(c.env, callRecord(c, { status: outcome.status, error: outcome.error, usage, usageEstimated: estimated, ttftMs: outcome.ttftMs }));
    },
  });
  c.executionCtx.waitUntil(ended);
  return new Response(stream, {
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers },
  });
}
