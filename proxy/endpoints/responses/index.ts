/**
 * OpenAI's Responses API: POST /v1/responses, GET and DELETE /v1/responses/{id}.
 *
 * Routed, admitted, cached, retried and logged like chat, through the shared pipeline. A model
 * whose provider speaks Responses (OpenAI) gets the call as the client sent it, and the answer
 * passes back as the upstream wrote it, metered from a copy; any other provider gets it
 * translated into the internal form (translate.ts) and its answer written back as a Response
 * (events.ts). A conversation continued with previous_response_id stays where it can be
 * continued: with the model that made it when it lives upstream, or translated when the proxy
 * keeps it (store.ts).
 */
import { bodyUser } from '../../core/attribution';
import { invalidRequest, ProxyError } from '../../core/errors';
import type { CacheStatus } from '../../core/request-record';
import type { Usage } from '../../core/usage';
import { decideCaching, readCachedCompletion, storeCompletion } from '../../cache/response-cache';
import type { AppContext } from '../../http/context';
import { isProviderName, PROVIDERS } from '../../providers';
import { estimateRequestTokens } from '../../providers/content';
import type { ChatCompletion, ChatRequest } from '../../providers/types';
import { fallbackFor } from '../../routing/failover';
import { resolveModel, tiersFor, type ResolvedModel } from '../../routing/models';
import { routeChat, taskOf } from '../../routing/tiers';
import { admit } from '../../pipeline/admission';
import { formatUsd, logCall, routingHeaders, sampleForEvaluation } from '../../pipeline/call';
import { readCallRequest, routeCallTo } from '../../pipeline/request';
import { streamResponse } from '../../pipeline/stream-response';
import { answerFromCache } from '../../pipeline/cached-answer';
import { callApiUpstream, usableFallback } from '../../pipeline/upstream';
import { ChatChunksAsResponse, replayResponse, ResponsesEventStream } from './events';
import { parseResponsesRequest, type ResponsesRequest } from './schema';
import { deleteStoredResponse, noteNativeResponse, readStoredResponse, storeTranslatedResponse, type StoredResponse } from './store';
import { finishResponse, newResponseId, outputItems, outputMessages, responseMessage, responseShell, toChatRequest, type ResponseObject } from './translate';

const notFound = (id: string, param: string | null = null) =>
  new ProxyError(404, `No response with id '${id}' was found.`, {
    type: 'invalid_request_error',
    code: param ? 'previous_response_not_found' : 'response_not_found',
    param,
  });

const json = (text: string, headers: Record<string, string> = {}) => new Response(text, { headers: { 'content-type': 'application/json', ...headers } });

/** Where the previous response of a conversation lives decides how this call can continue it. */
async function previousResponse(c: AppContext, request: ResponsesRequest): Promise<StoredResponse | null> {
  const id = request.previous_response_id;
  if (!id) return null;
  const previous = await readStoredResponse(c.env, c.get('tenant').tenantId, id);
  if (!previous) throw notFound(id, 'previous_response_id');
  return previous;
}

/** The model that answers: the one that made the previous response when the conversation lives upstream, else the router's choice. */
function route(c: AppContext, request: ResponsesRequest, routingForm: ChatRequest, previous: StoredResponse | null): ResolvedModel {
  taskOf(c.req.header('x-task')); // an unknown x-task is a 400 even when the previous response pins the model
  const { tenant } = c.get('tenant');
  const tiers = tiersFor(c.env, tenant);
  if (previous?.native) {
    const pinned = resolveModel(c.env, tiers, previous.model, 'chat');
    if (!PROVIDERS[pinned.provider].speaks('responses', c.env)) {
      throw invalidRequest(
        `The previous response was made by ${previous.model}, whose upstream no longer serves the Responses API here.`,
        'previous_response_id',
      );
    }
    return { ...pinned, requested: request.model, reason: 'previous_response' };
  }
  return routeChat(c.env, tiers, tenant.routing, routingForm, c.req.header('x-task') ?? null, tenant.task_tiers);
}

export async function createResponse(c: AppContext): Promise<Response> {
  const call = c.get('call');
  const { tenantId, tenant } = c.get('tenant');
  // The request as the internal form, leaving out what only OpenAI can carry: for routing and
  // estimates. Made again below only when a conversation kept by the proxy adds its history.
  let routingForm!: ChatRequest;
  const { raw, body } = await readCallRequest(c, 'responses', parseResponsesRequest, (request) => {
    routingForm = toChatRequest(request, [], 'lenient');
    return {
      model: request.model,
      stream: request.stream === true,
      promptTokens: estimateRequestTokens(routingForm),
      reasoning: Boolean(request.reasoning?.effort && request.reasoning.effort !== 'none'),
      user: bodyUser(request.user) ?? request.safety_identifier,
    };
  });
  const previous = await previousResponse(c, body);
  const history = previous && !previous.native ? previous.conversation : [];
  if (history.length > 0) {
    routingForm = toChatRequest(body, history, 'lenient');
    call.promptTokens = estimateRequestTokens(routingForm);
  }
  const routed = await routeCallTo(c, route(c, body, routingForm, previous));

  // Native when the model's provider speaks Responses, unless the conversation is one the proxy keeps.
  const native = (model: ResolvedModel) => previous?.native ?? (!previous && PROVIDERS[model.provider].speaks('responses', c.env));
  let translated: ChatRequest | undefined;
  const translation = () => (translated ??= toChatRequest(body, history, 'strict'));
  // What cannot be translated is refused before any upstream call.
  if (!native(routed)) translation();
  // A conversation kept upstream is not the proxy's to show another model: the rest is sampled.
  if (!previous?.native) sampleForEvaluation(c, () => ({ request: translation(), unstored: body.store === false, answer: responseMessage }));
  // A conversation kept upstream can be continued by its own model only.
  const fallback = previous?.native ? null : usableFallback(fallbackFor(c.env, tiersFor(c.env, tenant), routed), { native, translation });

  await admit(c, call.promptTokens, body.max_output_tokens);
  const caching = await decideCaching(c.req.raw, 'responses', body, { tenantId, cacheTtlS: tenant.cache_ttl_s }, routed.id);
  const hit = caching.mode === 'use' ? await readCachedCompletion(c.env.KV, caching.key) : null;
  if (hit) {
    const replay = new ResponsesEventStream();
    return answerFromCache(
      c,
      hit,
      body.stream ? { parts: replayResponse(hit.json, hit.usage), framing: replay, assembler: () => replay, includeUsage: false } : null,
    );
  }
  const cacheStatus: CacheStatus = caching.mode === 'use' ? 'MISS' : 'BYPASS';

  const result = await callApiUpstream(c, routed, fallback, { api: 'responses', stream: body.stream === true, raw, body, native, translation });

  const served = call.resolved!;
  const headers = routingHeaders(call, cacheStatus);
  // The cache key names the routed model: a fallback's answer is not stored under it.
  const cache = caching.mode !== 'off' && served === routed ? caching : null;
  const storing = body.store !== false;
  /**
   * Keeps what a completed answer leaves behind: the cache entry, and the response for later
   * calls (a native one is found by its call's row; this isolate notes it until the row is written).
   */
  const keep = (responseJson: string, usage: Usage, native: boolean, response: ResponseObject = JSON.parse(responseJson)) => {
    if (storing && response.id && native) noteNativeResponse(tenantId, response.id, served.id);
    return Promise.all([
      cache ? storeCompletion(c.env.KV, cache.key, cache.ttlS, { json: responseJson, usage, model: routed.id }) : null,
      storing && response.id && !native
        ? storeTranslatedResponse(c.env.KV, tenantId, response.id, {
            native: false,
            model: served.id,
            response: responseJson,
            // The conversation, without this call's instructions (OpenAI does not carry them over).
            conversation: [...translation().messages.slice(body.instructions ? 1 : 0), ...outputMessages(response.output)],
          })
        : null,
    ]);
  };

  if (result.kind === 'stream') {
    // Natively, only the response's id is needed to keep it, unless the whole answer is cached, stored or evaluated.
    const framing = result.native
      ? new ResponsesEventStream(cache !== null || call.requestText !== null || call.evaluation !== null)
      : new ChatChunksAsResponse(responseShell(body, newResponseId(), served.model));
    return streamResponse(c, result, headers, {
      cache: cacheStatus,
      includeUsage: false,
      framing,
      assembler: () => framing,
      onComplete: (responseJson, usage) => keep(responseJson, usage, result.native),
      responseId: () => (storing && framing instanceof ResponsesEventStream ? framing.responseId : null),
    });
  }

  let response: ResponseObject;
  if (result.native) response = JSON.parse(result.json) as ResponseObject;
  else {
    const completion = JSON.parse(result.json) as ChatCompletion;
    const shell = responseShell(body, newResponseId(), completion.model || served.model);
    response = finishResponse(shell, outputItems(completion), completion.choices[0]?.finish_reason ?? null, result.usage);
  }
  const responseJson = result.native ? result.json : JSON.stringify(response);
  const record = logCall(c, {
    status: 200,
    usage: result.usage,
    cache: cacheStatus,
    responseText: responseJson,
    responseId: storing && result.native ? (response.id ?? null) : null,
  });
  c.executionCtx.waitUntil(keep(responseJson, result.usage, result.native, response));
  return json(responseJson, { ...headers, 'x-proxy-cost-usd': formatUsd(record.costNano) });
}

/** A stored response and the provider that keeps it, or the 404 another tenant's id gets too. */
async function storedResponse(c: AppContext): Promise<{ id: string; stored: StoredResponse }> {
  c.get('call').endpoint = 'responses';
  const id = c.req.param('id') ?? '';
  const stored = await readStoredResponse(c.env, c.get('tenant').tenantId, id);
  if (!stored) throw notFound(id);
  return { id, stored };
}

/** The upstream's answer for a response it keeps. */
function atProvider(c: AppContext, stored: StoredResponse, id: string, method: 'GET' | 'DELETE'): Promise<string> {
  const provider = stored.model.split('/', 1)[0];
  if (!isProviderName(provider) || !PROVIDERS[provider].stored) throw notFound(id);
  return PROVIDERS[provider].stored!({ api: 'responses', id, method, env: c.env, signal: c.get('call').controller.signal });
}

export async function getResponse(c: AppContext): Promise<Response> {
  const { id, stored } = await storedResponse(c);
  return json(stored.native ? await atProvider(c, stored, id, 'GET') : stored.response);
}

export async function deleteResponse(c: AppContext): Promise<Response> {
  const { id, stored } = await storedResponse(c);
  const answer = stored.native ? await atProvider(c, stored, id, 'DELETE') : JSON.stringify({ id, object: 'response', deleted: true });
  await deleteStoredResponse(c.env, c.get('tenant').tenantId, id, stored);
  return json(answer);
}
