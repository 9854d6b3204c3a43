/**
 * Anthropic's Messages API: POST /v1/messages and POST /v1/messages/count_tokens, for the
 * Anthropic SDK and Claude Code (ANTHROPIC_BASE_URL).
 *
 * Routed, admitted, cached, retried and logged like chat, through the shared pipeline; errors
 * are written in Anthropic's shape (errors.ts, chosen in app.ts). A model whose provider speaks
 * Messages (Anthropic) gets the call as the client sent it, with its anthropic-version and
 * anthropic-beta, and the answer passes back as the upstream wrote it, metered from a copy; any
 * other provider gets it translated into the internal form (translate.ts) and its answer
 * written back as a Message (events.ts).
 */
import { estimateTokens } from '../../core/usage';
import type { CacheStatus } from '../../core/request-record';
import type { Usage } from '../../core/usage';
import { decideCaching, readCachedCompletion, storeCompletion } from '../../cache/response-cache';
import type { AppContext } from '../../http/context';
import { PROVIDERS } from '../../providers';
import { estimateRequestTokens } from '../../providers/content';
import type { ChatCompletion, ChatRequest, NativeApi } from '../../providers/types';
import { fallbackFor } from '../../routing/failover';
import { tiersFor, type ResolvedModel } from '../../routing/models';
import { routeChat } from '../../routing/tiers';
import { admit } from '../../pipeline/admission';
import { formatUsd, logCall, routingHeaders, sampleForEvaluation } from '../../pipeline/call';
import { readCallRequest, routeCallTo } from '../../pipeline/request';
import { streamResponse } from '../../pipeline/stream-response';
import { answerFromCache } from '../../pipeline/cached-answer';
import { callApiUpstream, callUpstream, usableFallback } from '../../pipeline/upstream';
import { ChatChunksAsMessage, MessagesEventStream, replayMessage } from './events';
import { parseCountTokensRequest, parseMessagesRequest, type CountTokensRequest, type MessagesRequest } from './schema';
import { assistantMessage, newMessageId, toChatRequest, toMessage } from './translate';

const json = (text: string, headers: Record<string, string> = {}) => new Response(text, { headers: { 'content-type': 'application/json', ...headers } });

/** The client's Anthropic headers, passed on to an upstream that speaks Messages. */
function anthropicHeaders(c: AppContext): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of ['anthropic-version', 'anthropic-beta']) {
    const value = c.req.header(name);
    if (value) headers[name] = value;
  }
  return headers;
}

/** Prompt size for the estimate and the tpm reservation: the request as the internal form counts it, every tool's schema included (server tools too). */
const promptTokensOf = (request: MessagesRequest | CountTokensRequest, chat: ChatRequest) =>
  estimateRequestTokens({ ...chat, tools: undefined }) + (request.tools?.length ? estimateTokens(JSON.stringify(request.tools)) : 0);

/** The model that answers (the router's choice, as for chat), and how each candidate is called. */
function plan(c: AppContext, request: MessagesRequest | CountTokensRequest, routingForm: ChatRequest, api: NativeApi) {
  const { tenant } = c.get('tenant');
  const tiers = tiersFor(c.env, tenant);
  const routed = routeChat(c.env, tiers, tenant.routing, routingForm, c.req.header('x-task') ?? null, tenant.task_tiers);
  const native = (model: ResolvedModel) => PROVIDERS[model.provider].speaks(api, c.env);
  let translated: ChatRequest | undefined;
  const translation = () => (translated ??= toChatRequest(request, 'strict'));
  // What cannot be translated is refused before any upstream call.
  if (!native(routed)) translation();
  return { routed, native, translation, fallback: usableFallback(fallbackFor(c.env, tiers, routed), { native, translation }) };
}

export async function createMessage(c: AppContext): Promise<Response> {
  const call = c.get('call');
  const { tenantId, tenant } = c.get('tenant');
  // The request in the internal form, leaving out what only Anthropic can carry: for routing and estimates, made once.
  let routingForm!: ChatRequest;
  const { raw, body } = await readCallRequest(c, 'messages', parseMessagesRequest, (request) => {
    routingForm = toChatRequest(request, 'lenient');
    return {
      model: request.model,
      stream: request.stream === true,
      promptTokens: promptTokensOf(request, routingForm),
      reasoning: request.thinking?.type === 'enabled',
      user: routingForm.user,
    };
  });
  const { routed: routedModel, native, translation, fallback } = plan(c, body, routingForm, 'messages');
  const routed = await routeCallTo(c, routedModel);
  // Messages has no `store`: no call is marked private.
  sampleForEvaluation(c, () => ({ request: translation(), unstored: false, answer: assistantMessage }));

  await admit(c, call.promptTokens, body.max_tokens);
  const caching = await decideCaching(c.req.raw, 'messages', body, { tenantId, cacheTtlS: tenant.cache_ttl_s }, routed.id);
  const hit = caching.mode === 'use' ? await readCachedCompletion(c.env.KV, caching.key) : null;
  if (hit) {
    const replay = new MessagesEventStream();
    return answerFromCache(
      c,
      hit,
      body.stream ? { parts: replayMessage(hit.json, hit.usage), framing: replay, assembler: () => replay, includeUsage: false } : null,
    );
  }
  const cacheStatus: CacheStatus = caching.mode === 'use' ? 'MISS' : 'BYPASS';

  const stream = body.stream === true;
  const result = await callApiUpstream(c, routed, fallback, { api: 'messages', stream, raw, body, headers: anthropicHeaders(c), native, translation });

  const served = call.resolved!;
  const headers = routingHeaders(call, cacheStatus);
  // The cache key names the routed model: a fallback's answer is not stored under it.
  const store =
    caching.mode === 'off' || served !== routed
      ? undefined
      : (message: string, usage: Usage) => storeCompletion(c.env.KV, caching.key, caching.ttlS, { json: message, usage, model: routed.id });

  if (result.kind === 'stream') {
    const framing = result.native ? new MessagesEventStream() : new ChatChunksAsMessage(newMessageId(), served.model, call.promptTokens);
    return streamResponse(c, result, headers, { cache: cacheStatus, includeUsage: false, framing, assembler: () => framing, onComplete: store });
  }

  const message = result.native ? result.json : JSON.stringify(toMessage(JSON.parse(result.json) as ChatCompletion, served.model, result.usage));
  const record = logCall(c, { status: 200, usage: result.usage, cache: cacheStatus, responseText: message });
  if (store) c.executionCtx.waitUntil(store(message, result.usage));
  return json(message, { ...headers, 'x-proxy-cost-usd': formatUsd(record.costNano) });
}

/**
 * Counting tokens: forwarded to an upstream that speaks Messages, estimated otherwise (as the
 * internal form counts a prompt). It costs nothing: logged at zero cost, it counts against the
 * tenant's rpm but not its tpm or budget.
 */
export async function countTokens(c: AppContext): Promise<Response> {
  const call = c.get('call');
  let routingForm!: ChatRequest;
  const { raw, body } = await readCallRequest(c, 'count_tokens', parseCountTokensRequest, (request) => {
    routingForm = toChatRequest(request, 'lenient');
    return { model: request.model, stream: false, promptTokens: promptTokensOf(request, routingForm), user: routingForm.user };
  });
  const { routed: routedModel, native } = plan(c, body, routingForm, 'count_tokens');
  const routed = await routeCallTo(c, routedModel);
  await admit(c, 0, 0, 'requests');
  const counted = native(routed)
    ? await callUpstream(c, routed, null, (attempt, policy) =>
        attempt.within(
          policy.firstByteTimeoutMs,
          PROVIDERS[attempt.model.provider].forward!({
            api: 'count_tokens',
            model: attempt.model.model,
            raw,
            body,
            stream: false,
            headers: anthropicHeaders(c),
            env: c.env,
            signal: attempt.signal,
          }),
        ),
      ).then((answer) => (answer.kind === 'completion' ? answer.json : '{}'))
    : JSON.stringify({ input_tokens: call.promptTokens });
  logCall(c, { status: 200, responseText: counted });
  return json(counted, { ...routingHeaders(call, 'BYPASS'), 'x-proxy-cost-usd': formatUsd(0) });
}
