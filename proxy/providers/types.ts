/**
 * The one internal interface every provider module implements. The common shape is OpenAI's:
 * requests arrive as Chat Completions bodies and providers answer with OpenAI JSON or OpenAI
 * stream chunks, translating their own wire format at the edge (as Portkey's gateway does).
 */
import type { JsonBody } from '../http/body';
import type { Env } from '../core/env';
import type { Usage } from '../core/usage';

import type { PartReader } from '../streaming/parts';

import type { ProviderName } from './names';

export type { ProviderName };

export interface ChatMessage {
  role: string;
  content?: unknown;
  name?: string;
  tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
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

export interface Provider {
  readonly name: ProviderName;
  /** Why this provider cannot serve calls under this configuration, or null when it can. */
  unavailableReason(env: Env): string | null;
  /**
   * Failures are thrown as ProxyError (see upstream.ts for the status mapping). A failure
   * after a stream has started is thrown by the `parts` reader's read() instead.
   */
  chat(call: ChatCall): Promise<ChatResult>;
  embeddings(call: EmbeddingsCall): Promise<EmbeddingsResult>;
}
