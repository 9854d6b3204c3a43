/**
 * OpenAI and every OpenAI-compatible upstream (vLLM, Ollama, Groq, ...). The body is forwarded
 * as the client sent it, unknown fields included; only `model` is replaced and, for streams,
 * `stream_options.include_usage` is forced on so the proxy always learns the real usage.
 */
import { ProxyError } from '../errors';
import { withTopLevelFields } from '../json-fields';
import { readSse } from '../sse';
import { partReader, type PartReader } from '../stream-parts';
import { fromOpenAIUsage } from '../usage';
import { fetchUpstream, redactSecrets, upstreamErrorMessage, upstreamFailure } from './upstream';
import type { ChatCall, ChatRequest, ChatResult, EmbeddingsCall, EmbeddingsResult, Provider } from './types';
import type { Env } from '../env';

const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

const baseUrl = (env: Env) => (env.OPENAI_BASE_URL?.trim() || DEFAULT_BASE_URL).replace(/\/+$/, '');

function headers(env: Env): HeadersInit {
  return {
    'content-type': 'application/json',
    ...(env.OPENAI_API_KEY ? { authorization: `Bearer ${env.OPENAI_API_KEY}` } : {}),
  };
}

/**
 * The upstream body: the client's as sent, with `fields` set. Editing the raw text keeps a large
 * prompt from being serialised again (json-fields.ts); the parsed body is the fallback.
 */
function upstreamBody(call: ChatCall | EmbeddingsCall, fields: Record<string, unknown>): string {
  return (call.rawBody !== undefined && withTopLevelFields(call.rawBody, fields)) || JSON.stringify({ ...call.body, ...fields });
}

async function post(env: Env, path: string, body: string, signal: AbortSignal): Promise<Response> {
  const response = await fetchUpstream('openai', `${baseUrl(env)}${path}`, { method: 'POST', headers: headers(env), body, signal });
  if (!response.ok) throw upstreamFailure('openai', response.status, await upstreamErrorMessage(response), response.headers);
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

function usageOf(json: string) {
  try {
    return fromOpenAIUsage((JSON.parse(json) as { usage?: unknown }).usage);
  } catch {
    throw new ProxyError(502, 'The openai upstream sent a response that is not JSON.', 'upstream_error', 'upstream_bad_response');
  }
}

/** Reads OpenAI chunks, noting usage. Only chunks that mention usage (or an error) are parsed. */
export function openAIStreamParts(body: ReadableStream<Uint8Array>): PartReader {
  const events = readSse(body);
  return partReader(async () => {
    const event = await events.read();
    if (event === null) return null;
    const data = event.data;
    if (data === '[DONE]') return [];
    if (data.includes('"error"')) {
      const parsed = JSON.parse(data) as { error?: { message?: string } };
      if (parsed.error) {
        await events.cancel().catch(() => {});
        throw new ProxyError(502, `openai upstream failed mid-stream: ${redactSecrets(String(parsed.error.message ?? 'unknown error').slice(0, 500))}`, 'upstream_error', 'upstream_stream_error');
      }
    }
    if (data.includes('"usage":{')) {
      const parsed = JSON.parse(data) as { usage?: unknown; choices?: unknown[] };
      return [{ data, usage: fromOpenAIUsage(parsed.usage), usageOnly: (parsed.choices?.length ?? 0) === 0 }];
    }
    return [{ data }];
  }, { cancel: (reason) => events.cancel(reason), sourceBuffered: () => events.buffered() });
}

export const openai: Provider = {
  name: 'openai',

  unavailableReason(env) {
    const custom = baseUrl(env) !== DEFAULT_BASE_URL;
    return env.OPENAI_API_KEY || custom ? null : 'set OPENAI_API_KEY (or OPENAI_BASE_URL for an OpenAI-compatible server) to use openai/ models';
  },

  async chat(call: ChatCall): Promise<ChatResult> {
    const { env, signal, model, body } = call;
    const fields = { model, ...promptCacheKeyField(body, call.promptCacheKey, baseUrl(env)) };
    if (body.stream) {
      const streamOptions = { ...(body.stream_options ?? {}), include_usage: true };
      const response = await post(env, '/chat/completions', upstreamBody(call, { ...fields, stream_options: streamOptions }), signal);
      if (!response.body) throw new ProxyError(502, 'The openai upstream sent an empty stream.', 'upstream_error', 'upstream_error');
      return { kind: 'stream', parts: openAIStreamParts(response.body) };
    }
    const response = await post(env, '/chat/completions', upstreamBody(call, fields), signal);
    const json = await response.text();
    return { kind: 'completion', json, usage: usageOf(json) };
  },

  async embeddings(call: EmbeddingsCall): Promise<EmbeddingsResult> {
    const response = await post(call.env, '/embeddings', upstreamBody(call, { model: call.model }), call.signal);
    const json = await response.text();
    return { json, usage: usageOf(json) };
  },
};
