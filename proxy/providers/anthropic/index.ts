/**
 * Anthropic's Messages API. It speaks Messages natively: a call to /v1/messages (or its
 * count_tokens) is forwarded as the client sent it, with the client's anthropic-version and
 * anthropic-beta, and its stream passed through as sent, metered from a copy. Behind the
 * internal form it is translated field by field (translate.ts: OpenAI-only fields are left out,
 * since Anthropic rejects fields it does not know), answers back to a `chat.completion` or its
 * chunks (stream.ts). Anthropic counts input tokens without the cache buckets, so usage is
 * normalized here (core/usage.ts).
 */
import type { Env } from '../../core/env';
import { invalidRequest } from '../../core/errors';
import { ZERO_USAGE } from '../../core/usage';
import { withTopLevelFields, withTopLevelFieldsInBytes } from '../../http/json-fields';
import { readSse } from '../../streaming/sse';
import type { ChatCall, ChatResult, ForwardCall, ForwardResult, Provider } from '../types';
import { fetchUpstream, passedThrough, upstreamError, upstreamErrorMessage, upstreamFailure } from '../upstream';
import { markPromptCache, saltPrompt } from './prompt-cache';
import { anthropicStreamParts, messagesStreamParts } from './stream';
import { fromAnthropicMessage, fromAnthropicUsage, toAnthropicRequest } from './translate';
import type { AnthropicRequest, AnthropicResponse, AnthropicUsage } from './types';

const DEFAULT_BASE_URL = 'https://api.anthropic.com';
const API_VERSION = '2023-06-01';

const baseUrl = (env: Env) => (env.ANTHROPIC_BASE_URL?.trim() || DEFAULT_BASE_URL).replace(/\/+$/, '');

/** Anthropic's request headers: the client's API version and betas when it sent them, the proxy's key always. */
function upstreamHeaders(env: Env, client: Record<string, string> = {}): Record<string, string> {
  return {
    'content-type': 'application/json',
    'anthropic-version': client['anthropic-version'] ?? API_VERSION,
    ...(client['anthropic-beta'] ? { 'anthropic-beta': client['anthropic-beta'] } : {}),
    ...(env.ANTHROPIC_API_KEY ? { 'x-api-key': env.ANTHROPIC_API_KEY } : {}),
  };
}

async function post(env: Env, path: string, body: string | Uint8Array, signal: AbortSignal, clientHeaders?: Record<string, string>): Promise<Response> {
  const response = await fetchUpstream('anthropic', `${baseUrl(env)}${path}`, { method: 'POST', headers: upstreamHeaders(env, clientHeaders), body, signal });
  if (!response.ok) throw upstreamFailure('anthropic', response.status, await upstreamErrorMessage(response, env), response.headers);
  return response;
}

const postMessages = (env: Env, request: AnthropicRequest, signal: AbortSignal) => post(env, '/v1/messages', JSON.stringify(request), signal);

/**
 * A Messages request forwarded as the client sent it, with the proxy's model: the bytes are
 * edited in place (http/json-fields.ts), unless the proxy salts the prompt (an isolated tenant)
 * or marks it for caching (the client set no cache_control of its own and the prefix is long
 * enough), when it is re-serialised. Counting tokens reads no cache: its prompt is counted as sent.
 */
function forwardedBody(call: ForwardCall): string | Uint8Array {
  const body = call.body as unknown as AnthropicRequest & { system?: unknown };
  if (call.api === 'messages' && Array.isArray(body.messages)) {
    // A string system prompt is one text block, as far as salting and marking are concerned.
    const request = typeof body.system === 'string' ? { ...body, system: [{ type: 'text' as const, text: body.system }] } : body;
    const marked = markPromptCache(call.promptCacheSalt ? saltPrompt(request, call.promptCacheSalt) : request);
    if (marked !== request && (marked.system !== request.system || marked.tools !== request.tools)) return JSON.stringify({ ...marked, model: call.model });
  }
  const { raw } = call;
  return (
    (raw.bytes ? withTopLevelFieldsInBytes(raw.text, raw.bytes, { model: call.model }) : withTopLevelFields(raw.text, { model: call.model })) ??
    JSON.stringify({ ...body, model: call.model })
  );
}

/** A plain answer's text; a connection lost while reading it is a retryable 502. */
async function answerText(response: Response): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    throw upstreamError("The anthropic upstream's answer was cut off.", 'upstream_interrupted', { cause: error });
  }
}

export const anthropic: Provider = {
  name: 'anthropic',
  speaks: (api) => api === 'messages' || api === 'count_tokens',

  async forward(call: ForwardCall): Promise<ForwardResult> {
    const path = call.api === 'count_tokens' ? '/v1/messages/count_tokens' : '/v1/messages';
    const response = await post(call.env, path, forwardedBody(call), call.signal, call.headers);
    if (!call.stream) {
      const json = await answerText(response);
      let parsed: { usage?: AnthropicUsage };
      try {
        parsed = JSON.parse(json) as { usage?: AnthropicUsage };
      } catch (error) {
        throw upstreamError('The anthropic upstream sent a response that is not JSON.', 'upstream_bad_response', { cause: error });
      }
      // Counting tokens costs nothing: its answer's input_tokens are not usage.
      return { kind: 'completion', json, usage: call.api === 'count_tokens' ? ZERO_USAGE : fromAnthropicUsage(parsed.usage) };
    }
    if (!response.body) throw upstreamError('The anthropic upstream sent an empty stream.', 'upstream_error');
    return { kind: 'stream', ...passedThrough(response.body, (copy) => messagesStreamParts(readSse(copy), call.env)) };
  },

  unavailableReason(env) {
    // A custom base URL may be a local or compatible server that needs no key.
    const custom = baseUrl(env) !== DEFAULT_BASE_URL;
    return env.ANTHROPIC_API_KEY || custom ? null : 'set ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL for an Anthropic-compatible server) to use anthropic/ models';
  },

  async chat(call: ChatCall): Promise<ChatResult> {
    const translated = toAnthropicRequest(call.body, call.model);
    const request = markPromptCache(call.promptCacheSalt ? saltPrompt(translated, call.promptCacheSalt) : translated);
    const response = await postMessages(call.env, request, call.signal);
    if (request.stream) {
      if (!response.body) throw upstreamError('The anthropic upstream sent an empty stream.', 'upstream_error');
      return { kind: 'stream', parts: anthropicStreamParts(readSse(response.body), call.env) };
    }
    const message = (await response.json().catch(() => null)) as AnthropicResponse | null;
    if (!Array.isArray(message?.content)) {
      throw upstreamError('The anthropic upstream sent a response that is not a message.', 'upstream_bad_response');
    }
    return { kind: 'completion', ...fromAnthropicMessage(message) };
  },

  async embeddings() {
    throw invalidRequest('anthropic models do not serve embeddings.', 'model');
  },
};
