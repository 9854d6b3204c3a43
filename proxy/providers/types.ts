/**
 * The one interface every provider module implements, and the proxy's one internal form.
 *
 * The internal form is OpenAI Chat Completions: every endpoint can turn its API's request into
 * a ChatRequest, and every provider answers one with a chat.completion or its stream chunks,
 * translating its own wire format at the edge (as Portkey's gateway does). N endpoints and M
 * providers meet there, never in N x M translators.
 *
 * Besides, a provider may speak some inbound APIs natively (OpenAI's Responses API, say): a call
 * in such an API is forwarded as the client sent it (`forward`) and its answer passed back as
 * the upstream wrote it, metered from a copy.
 */
import type { JsonBody } from '../http/body';
import type { Env } from '../core/env';
import type { Usage } from '../core/usage';

import type { PartReader } from '../streaming/parts';

import type { ProviderName } from './names';

export type { ProviderName };

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** A chat.completion, as every provider answers a plain call (the fields the proxy reads or writes). */
export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{ index: number; message: { role: 'assistant'; content: string | null; tool_calls?: ToolCall[] }; finish_reason: string | null }>;
  usage?: unknown;
}

/** A chat.completion.chunk, the internal form's stream event (the fields the proxy reads). */
export interface ChatChunk {
  id?: string;
  created?: number;
  model?: string;
  choices?: Array<{
    index?: number;
    delta?: { content?: string | null; tool_calls?: Array<{ index: number; id?: string; function?: { name?: string; arguments?: string } }> };
    finish_reason?: string | null;
  }>;
}

export interface ChatMessage {
  role: string;
  content?: unknown;
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  [field: string]: unknown;
}

/** A validated Chat Completions body. Fields the proxy does not know are kept as sent. */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean; [field: string]: unknown } | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  n?: number | null;
  stop?: string | string[] | null;
  tools?: Array<{ type: string; function: { name: string; description?: string; parameters?: unknown } }>;
  tool_choice?: unknown;
  parallel_tool_calls?: boolean;
  user?: string;
  [field: string]: unknown;
}

export interface EmbeddingsRequest {
  model: string;
  input: string | string[] | number[] | number[][];
  encoding_format?: 'float' | 'base64';
  dimensions?: number;
  user?: string;
  [field: string]: unknown;
}

/** A request body as the client sent it: its text, and its bytes when they are that text exactly. */
export type SentBody = Pick<JsonBody, 'text' | 'bytes'>;

export interface ChatCall {
  /** The model as the provider names it (no `provider/` prefix). */
  model: string;
  body: ChatRequest;
  /** The body as the client sent it: a provider that forwards it nearly unchanged can edit this instead of serialising `body`. */
  raw?: SentBody;
  env: Env;
  /** Aborted when the client goes away: providers pass it to their upstream fetch. */
  signal: AbortSignal;
  /** Stable per tenant, for providers whose prompt cache routing takes a key (OpenAI). */
  promptCacheKey?: string;
  /** An isolated tenant's salt, to begin the prompt with (prompt-cache-salt.ts); none for a tenant that shares the cache. */
  promptCacheSalt?: string;
}

export interface EmbeddingsCall {
  model: string;
  body: EmbeddingsRequest;
  raw?: SentBody;
  env: Env;
  signal: AbortSignal;
}

export type ChatResult =
  | { kind: 'completion'; /** OpenAI `chat.completion` JSON text */ json: string; usage: Usage }
  | {
      kind: 'stream';
      parts: PartReader;
      /**
       * The upstream's own SSE bytes, when they are already exactly what the client asked for:
       * sent on unchanged (pass-through-stream.ts) while `parts` reads a copy for metering.
       * Cancelling `parts` releases these too, as long as they are not being sent.
       */
      passThrough?: ReadableStream<Uint8Array>;
    };

export interface EmbeddingsResult {
  /** OpenAI `list` of embeddings, JSON text. */
  json: string;
  usage: Usage;
}

/** Inbound APIs a provider may speak natively, besides the internal form (chat) and embeddings. */
export type NativeApi = 'responses' | 'messages' | 'count_tokens';

/** A call forwarded in the client's own API. */
export interface ForwardCall {
  api: NativeApi;
  /** The model as the provider names it (no `provider/` prefix): it replaces the body's. */
  model: string;
  /** The body as the client sent it, and as parsed (for fields the provider must read). */
  raw: SentBody;
  body: Record<string, unknown>;
  stream: boolean;
  /** The client's own headers the upstream must see (Anthropic's `anthropic-version` and `anthropic-beta`). */
  headers?: Record<string, string>;
  /** As ChatCall's: the body is then changed where its prompt begins, and only there. */
  promptCacheSalt?: string;
  env: Env;
  signal: AbortSignal;
}

/** A forwarded call's answer: the upstream's JSON as sent, or its stream passed through with a metered copy. */
export type ForwardResult = { kind: 'completion'; json: string; usage: Usage } | { kind: 'stream'; parts: PartReader; passThrough: ReadableStream<Uint8Array> };

/** A stored object of a native API (a response, by id): read or deleted upstream. */
export interface StoredObjectCall {
  api: NativeApi;
  id: string;
  method: 'GET' | 'DELETE';
  env: Env;
  signal: AbortSignal;
}

export interface Provider {
  readonly name: ProviderName;
  /** Whether this provider's upstream, as configured, speaks `api` itself. */
  speaks(api: NativeApi, env: Env): boolean;
  /** Forwards a call in an API it speaks (see `speaks`). */
  forward?(call: ForwardCall): Promise<ForwardResult>;
  /** Reads or deletes an object the upstream stored for an API it speaks. Answers the upstream's JSON. */
  stored?(call: StoredObjectCall): Promise<string>;
  /** Why this provider cannot serve calls under this configuration, or null when it can. */
  unavailableReason(env: Env): string | null;
  /** The one region every call is processed in under this configuration (a data-residency endpoint), if any. */
  dataResidencyRegion?(env: Env): string | undefined;
  /**
   * Failures are thrown as ProxyError (see upstream.ts for the status mapping). A failure
   * after a stream has started is thrown by the `parts` reader's read() instead.
   */
  chat(call: ChatCall): Promise<ChatResult>;
  embeddings(call: EmbeddingsCall): Promise<EmbeddingsResult>;
}
