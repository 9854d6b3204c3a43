/**
 * OpenAI and every OpenAI-compatible upstream (vLLM, Ollama, Groq, ...). The body is forwarded
 * as the client sent it, unknown fields included; only `model` is replaced and, for streams,
 * `stream_options.include_usage` is forced on so the proxy always learns the real usage. A
 * stream whose client asked for usage itself is passed through as the upstream sent it. The
 * Responses API is spoken natively (responses.ts): forwarded the same way, its stream passed
 * through, unless OPENAI_RESPONSES_API=translate says the server lacks it.
 *
 * An isolated tenant's prompt begins with its salt (prompt-cache-salt.ts), so its body changes
 * there too: chat's leading system message, Responses' `instructions`. OpenAI's prompt starts
 * with the instructions, before any history of a `previous_response_id` and before the input;
 * OpenAI's published prompt format (harmony) renders function tools after them.
 */
import { ProxyError } from '../../core/errors';
import { withTopLevelFields, withTopLevelFieldsInBytes } from '../../http/json-fields';
import { readSse } from '../../streaming/sse';
import { type PartReader, partReader, type StreamPart } from '../../streaming/parts';
import { fromOpenAIUsage, serviceTierOf, type Usage } from '../../core/usage';
import {
  fetchUpstream,
  nextUpstreamEvent,
  passedThrough,
  upstreamError,
  upstreamErrorMessage,
  upstreamFailure,
  upstreamText,
  type ProviderSecrets,
} from '../upstream';
import type { ChatCall, ChatRequest, ChatResult, EmbeddingsCall, EmbeddingsResult, ForwardCall, ForwardResult, Provider, StoredObjectCall } from '../types';
import type { Env } from '../../core/env';
import { fromResponsesUsage, responsesStreamParts } from './responses';
import { saltedChatRequest, saltedText } from '../prompt-cache-salt';

const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

const baseUrl = (env: Env) => (env.OPENAI_BASE_URL?.trim() || DEFAULT_BASE_URL).replace(/\/+$/, '');

function headers(env: Env): HeadersInit {
  return {
    'content-type': 'application/json',
    ...(env.OPENAI_API_KEY ? { authorization: `Bearer ${env.OPENAI_API_KEY}` } : {}),
  };
}

/**
 * The upstream body: the client's as sent, with `fields` set. Editing the bytes as received (or,
 * failing those, the text) keeps a large prompt from being serialised and encoded again
 * (json-fields.ts); the parsed body is the fallback.
 */
function upstreamBody(call: ChatCall | EmbeddingsCall | ForwardCall, fields: Record<string, unknown>): Uint8Array | string {
  const raw = call.raw;
  const edited = raw && (raw.bytes ? withTopLevelFieldsInBytes(raw.text, raw.bytes, fields) : withTopLevelFields(raw.text, fields));
  return edited || JSON.stringify({ ...call.body, ...fields });
}

async function post(env: Env, path: string, body: Uint8Array | string, signal: AbortSignal): Promise<Response> {
  const response = await fetchUpstream('openai', `${baseUrl(env)}${path}`, { method: 'POST', headers: headers(env), body, signal });
  if (!response.ok) throw upstreamFailure('openai', response.status, await upstreamErrorMessage(response, env), response.headers);
  return response;
}

/**
 * OpenAI caches long prompt prefixes by itself; a stable per-tenant `prompt_cache_key` keeps
 * one tenant's calls on the same cache. Only api.openai.com is known to accept the field
 * (strict OpenAI-compatible servers reject unknown ones), and a key the client set wins.
 */
export function promptCacheKeyField(body: ChatRequest, key: string | undefined, base: string): { prompt_cache_key?: string } {
  if (!key || base !== DEFAULT_BASE_URL || body.prompt_cache_key !== undefined) return {};
  return { prompt_cache_key: key };
}

/**
 * The region of an OpenAI data-residency endpoint (`https://eu.api.openai.com/v1`: `eu`), where
 * every call is processed and which newer models bill 10% more for; none for any other base URL.
 */
export function dataResidencyRegion(base: string): string | undefined {
  try {
    return /^([a-z]{2,8})\.api\.openai\.com$/.exec(new URL(base).hostname)?.[1];
  } catch {
    return undefined;
  }
}

/** A plain answer's body; a connection lost while reading it is a retryable 502, not the proxy's own failure. */
async function bodyText(response: Response): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    throw upstreamError("The openai upstream's answer was cut off.", 'upstream_interrupted', { cause: error });
  }
}

/** The usage of a plain answer, read with `read` (chat and embeddings, or Responses), and the service tier it was served at. */
function usageOf(json: string, read: (usage: unknown) => Usage = fromOpenAIUsage): Usage {
  try {
    const answer = JSON.parse(json) as { usage?: unknown; service_tier?: unknown };
    return { ...read(answer.usage), ...serviceTierOf(answer.service_tier) };
  } catch (error) {
    throw upstreamError('The openai upstream sent a response that is not JSON.', 'upstream_bad_response', { cause: error });
  }
}

/** One OpenAI chunk as parts, noting usage. Only chunks that mention usage (or an error) are parsed. */
function chunkParts(data: string, secrets: ProviderSecrets): StreamPart[] {
  if (data === '[DONE]') return [{ done: true }];
  if (data.includes('"error"')) {
    const parsed = JSON.parse(data) as { error?: { message?: string } };
    if (parsed.error)
      throw upstreamError(
        `openai upstream failed mid-stream: ${upstreamText(String(parsed.error.message ?? 'unknown error'), secrets)}`,
        'upstream_stream_error',
      );
  }
  if (data.includes('"usage":{')) {
    const parsed = JSON.parse(data) as { usage?: unknown; choices?: unknown[]; service_tier?: unknown };
    return [{ data, usage: { ...fromOpenAIUsage(parsed.usage), ...serviceTierOf(parsed.service_tier) }, usageOnly: (parsed.choices?.length ?? 0) === 0 }];
  }
  return [{ data }];
}

/** A chunk that ends the answer (`"finish_reason":"stop"`, spaced or not; null does not count). */
const FINISHED = /"finish_reason":\s*"/;

/**
 * Reads OpenAI chunks. Every failure is a 502 upstream error (retried when it comes before the
 * first part): a lost connection, an error event, a chunk that should be JSON and is not, and a
 * stream that ends before it is complete: without [DONE], or at least a finish_reason and the
 * usage that follows it (the proxy always asks for it).
 */
export function openAIStreamParts(body: ReadableStream<Uint8Array>, secrets: ProviderSecrets): PartReader {
  const events = readSse(body);
  let done = false;
  let finished = false;
  let usageSeen = false;
  return partReader(
    async () => {
      const event = await nextUpstreamEvent(events, 'openai');
      if (event === null) {
        if (done || (finished && usageSeen)) return null;
        throw upstreamError('The openai stream ended before the answer was complete.', 'upstream_stream_incomplete');
      }
      const data = event.data;
      if (data === '[DONE]') done = true;
      else if (!finished && FINISHED.test(data)) finished = true;
      try {
        const parts = chunkParts(data, secrets);
        if (parts[0]?.usage) usageSeen = true;
        return parts;
      } catch (error) {
        await events.cancel().catch(() => {});
        throw error instanceof ProxyError
          ? error
          : upstreamError('The openai upstream sent a stream chunk that is not JSON.', 'upstream_bad_response', { cause: error });
      }
    },
    { cancel: (reason) => events.cancel(reason), sourceBuffered: () => events.buffered() },
  );
}

/** The Responses API is forwarded as it is unless the operator says this OpenAI-compatible server lacks it. */
const speaksResponses = (env: Env) => env.OPENAI_RESPONSES_API?.trim().toLowerCase() !== 'translate';

const responsesUsageOf = (json: string) => usageOf(json, fromResponsesUsage);

export const openai: Provider = {
  name: 'openai',

  speaks: (api, env) => api === 'responses' && speaksResponses(env),

  async forward(call: ForwardCall): Promise<ForwardResult> {
    const { env, signal } = call;
    const salt = call.promptCacheSalt;
    const fields = { model: call.model, ...(salt ? { instructions: saltedText(salt, call.body.instructions) } : {}) };
    const response = await post(env, '/responses', upstreamBody(call, fields), signal);
    if (!call.stream) {
      const json = await bodyText(response);
      return { kind: 'completion', json, usage: responsesUsageOf(json) };
    }
    if (!response.body) throw upstreamError('The openai upstream sent an empty stream.', 'upstream_error');
    return { kind: 'stream', ...passedThrough(response.body, (copy) => responsesStreamParts(copy, env)) };
  },

  async stored(call: StoredObjectCall): Promise<string> {
    const { env } = call;
    const response = await fetchUpstream('openai', `${baseUrl(env)}/responses/${encodeURIComponent(call.id)}`, {
      method: call.method,
      headers: headers(env),
      signal: call.signal,
    });
    if (!response.ok) throw upstreamFailure('openai', response.status, await upstreamErrorMessage(response, env), response.headers);
    return bodyText(response);
  },

  unavailableReason(env) {
    const custom = baseUrl(env) !== DEFAULT_BASE_URL;
    return env.OPENAI_API_KEY || custom ? null : 'set OPENAI_API_KEY (or OPENAI_BASE_URL for an OpenAI-compatible server) to use openai/ models';
  },
  dataResidencyRegion: (env) => dataResidencyRegion(baseUrl(env)),

  async chat(call: ChatCall): Promise<ChatResult> {
    const { env, signal, model, body } = call;
    const salt = call.promptCacheSalt;
    const fields = {
      model,
      ...promptCacheKeyField(body, call.promptCacheKey, baseUrl(env)),
      ...(salt ? { messages: saltedChatRequest(body, salt).messages } : {}),
    };
    if (body.stream) {
      const streamOptions = { ...(body.stream_options ?? {}), include_usage: true };
      const response = await post(env, '/chat/completions', upstreamBody(call, { ...fields, stream_options: streamOptions }), signal);
      if (!response.body) throw upstreamError('The openai upstream sent an empty stream.', 'upstream_error');
      // A client that asked for usage wants the upstream's stream exactly as it is: it can be
      // passed through, the proxy metering a copy. Otherwise the usage chunk must be taken out.
      if (body.stream_options?.include_usage !== true) return { kind: 'stream', parts: openAIStreamParts(response.body, env) };
      return { kind: 'stream', ...passedThrough(response.body, (copy) => openAIStreamParts(copy, env)) };
    }
    const response = await post(env, '/chat/completions', upstreamBody(call, fields), signal);
    const json = await bodyText(response);
    return { kind: 'completion', json, usage: usageOf(json) };
  },

  async embeddings(call: EmbeddingsCall): Promise<EmbeddingsResult> {
    const response = await post(call.env, '/embeddings', upstreamBody(call, { model: call.model }), call.signal);
    const json = await bodyText(response);
    return { json, usage: usageOf(json) };
  },
};
