/**
 * Anthropic's Messages API behind the OpenAI shape. Requests are translated field by field
 * (unknown OpenAI-only fields are left out, since Anthropic rejects fields it does not know),
 * and answers are translated back: a message to a `chat.completion`, stream events to
 * `chat.completion.chunk`s. Anthropic counts input tokens without the cache buckets, so
 * usage is normalized here (see usage.ts).
 */
import type { Env } from '../../core/env';
import { invalidRequest } from '../../core/errors';
import { readSse } from '../../streaming/sse';
import type { ChatCall, ChatResult, Provider } from '../types';
import { fetchUpstream, upstreamError, upstreamErrorMessage, upstreamFailure } from '../upstream';
import { markPromptCache } from './prompt-cache';
import type { AnthropicRequest, AnthropicResponse } from './types';
import { toAnthropicRequest, fromAnthropicMessage } from './translate';
import { anthropicStreamParts } from './stream';

const DEFAULT_BASE_URL = 'https://api.anthropic.com';
const API_VERSION = '2023-06-01';

const baseUrl = (env: Env) => (env.ANTHROPIC_BASE_URL?.trim() || DEFAULT_BASE_URL).replace(/\/+$/, '');

async function postMessages(env: Env, request: AnthropicRequest, signal: AbortSignal): Promise<Response> {
  const response = await fetchUpstream('anthropic', `${baseUrl(env)}/v1/messages`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'anthropic-version': API_VERSION,
      ...(env.ANTHROPIC_API_KEY ? { 'x-api-key': env.ANTHROPIC_API_KEY } : {}),
    },
    body: JSON.stringify(request),
    signal,
  });
  if (!response.ok) throw upstreamFailure('anthropic', response.status, await upstreamErrorMessage(response, env), response.headers);
  return response;
}

export const anthropic: Provider = {
  name: 'anthropic',
  speaks: () => false,

  unavailableReason(env) {
    // A custom base URL may be a local or compatible server that needs no key.
    const custom = baseUrl(env) !== DEFAULT_BASE_URL;
    return env.ANTHROPIC_API_KEY || custom ? null : 'set ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL for an Anthropic-compatible server) to use anthropic/ models';
  },

  async chat(call: ChatCall): Promise<ChatResult> {
    const request = markPromptCache(toAnthropicRequest(call.body, call.model));
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
