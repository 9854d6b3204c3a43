/**
 * Messages streams as the proxy writes them, in Anthropic's event sequence: message_start
 * (carrying the input tokens, real or best-estimated, never 0), then per content block
 * content_block_start, content_block_delta... (text_delta, or input_json_delta for tool_use),
 * content_block_stop, and last message_delta (the stop reason and final usage) and message_stop.
 * - ChatChunksAsMessage writes the internal form's chunks so, for providers that do not speak
 *   Messages;
 * - replayMessage writes a whole Message so, to replay a cached answer as a stream;
 * - MessagesEventStream watches a stream already in these events (native, or replayed) and
 *   assembles the Message it amounts to, for the response cache.
 */
import type { ProxyError } from '../../core/errors';
import type { Usage } from '../../core/usage';
import type { AnswerAssembler } from '../../pipeline/stream-response';
import type { ChatChunk } from '../../providers/types';
import { namedEvent, type StreamFraming } from '../../streaming/framing';
import { partsOf, type PartReader, type StreamPart } from '../../streaming/parts';
import { anthropicErrorEvent } from './errors';
import { stopReason, toAnthropicUsage, toolInput, type AnthropicMessage as Message } from './translate';

const event = (type: string, fields: Record<string, unknown>): StreamPart => ({ event: type, data: JSON.stringify({ type, ...fields }) });
const sse = (parts: StreamPart[]) => parts.map((part) => namedEvent(part.event!, part.data!)).join('');

/** The message as message_start shows it: nothing produced yet. */
const started = (message: Omit<Message, 'content' | 'stop_reason'> & { usage: Record<string, number> }) => ({
  ...message,
  content: [],
  stop_reason: null,
  stop_sequence: null,
});

/** Characters per replayed text delta: small enough to look like a stream, few enough to be cheap. */
const REPLAY_DELTA_CHARS = 256;

/** A stored Message as the events of its stream, for a cached answer asked for as a stream. */
export function replayMessage(json: string, usage: Usage): PartReader {
  const message = JSON.parse(json) as Message;
  const parts = [event('message_start', { message: started({ ...message, usage: { ...message.usage, output_tokens: 1 } }) })];
  message.content.forEach((block, index) => {
    if (block.type === 'text') {
      parts.push(event('content_block_start', { index, content_block: { type: 'text', text: '' } }));
      const said = String(block.text ?? '');
      for (let i = 0; i < said.length; i += REPLAY_DELTA_CHARS)
        parts.push(event('content_block_delta', { index, delta: { type: 'text_delta', text: said.slice(i, i + REPLAY_DELTA_CHARS) } }));
    } else if (block.type === 'tool_use') {
      parts.push(event('content_block_start', { index, content_block: { ...block, input: {} } }));
      parts.push(event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input ?? {}) } }));
    } else {
      parts.push(event('content_block_start', { index, content_block: block }));
    }
    parts.push(event('content_block_stop', { index }));
  });
  parts.push(event('message_delta', { delta: { stop_reason: message.stop_reason, stop_sequence: message.stop_sequence ?? null }, usage: message.usage }));
  parts.push({ ...event('message_stop', {}), usage, usageFinal: true });
  return partsOf(parts);
}

/**
 * Writes the internal form's chunks as a Messages stream, and is the assembler of the Message
 * they amount to. Text opens a text block; each tool call opens a tool_use block, closing the
 * block before it.
 */
export class ChatChunksAsMessage implements StreamFraming, AnswerAssembler {
  private startedYet = false;
  private readonly content: Array<Record<string, unknown>> = [];
  private open: { kind: 'text'; text: string } | { kind: 'tool'; args: string } | null = null;
  private finishReason: string | null = null;
  private final: Message | null = null;

  /** `inputTokens`: the prompt's size as estimated, told in message_start until the real count arrives at the end. */
  constructor(
    private readonly id: string,
    private readonly model: string,
    private readonly inputTokens: number,
  ) {}

  private start(usage: Usage | undefined): StreamPart[] {
    if (this.startedYet) return [];
    this.startedYet = true;
    const known = usage && usage.promptTokens > 0 ? toAnthropicUsage(usage) : null;
    const startUsage = known
      ? { ...known, output_tokens: 1 }
      : { input_tokens: Math.max(1, this.inputTokens), output_tokens: 1, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
    return [
      event('message_start', {
        message: started({ id: this.id, type: 'message', role: 'assistant', model: this.model, stop_sequence: null, usage: startUsage }),
      }),
    ];
  }

  event(part: StreamPart): string {
    const parts = this.start(part.usage);
    const choice = (JSON.parse(part.data!) as ChatChunk).choices?.[0];
    const said = choice?.delta?.content;
    if (typeof said === 'string' && said !== '') {
      if (this.open?.kind !== 'text') {
        parts.push(...this.closeBlock());
        this.content.push({ type: 'text', text: '' });
        this.open = { kind: 'text', text: '' };
        parts.push(event('content_block_start', { index: this.index, content_block: { type: 'text', text: '' } }));
      }
      this.open.text += said;
      parts.push(event('content_block_delta', { index: this.index, delta: { type: 'text_delta', text: said } }));
    }
    for (const call of choice?.delta?.tool_calls ?? []) {
      if (call.id || this.open?.kind !== 'tool') {
        parts.push(...this.closeBlock());
        const block = { type: 'tool_use', id: call.id ?? `toolu_${this.content.length}`, name: call.function?.name ?? '', input: {} };
        this.content.push(block);
        this.open = { kind: 'tool', args: '' };
        parts.push(event('content_block_start', { index: this.index, content_block: block }));
      }
      const args = call.function?.arguments ?? '';
      if (args) {
        this.open.args += args;
        parts.push(event('content_block_delta', { index: this.index, delta: { type: 'input_json_delta', partial_json: args } }));
      }
    }
    if (choice?.finish_reason) this.finishReason = choice.finish_reason;
    return sse(parts);
  }

  private get index() {
    return this.content.length - 1;
  }

  private closeBlock(): StreamPart[] {
    const open = this.open;
    if (!open) return [];
    this.open = null;
    this.content[this.index] = open.kind === 'text' ? { type: 'text', text: open.text } : { ...this.content[this.index], input: toolInput(open.args) };
    return [event('content_block_stop', { index: this.index })];
  }

  end(usage: Usage | null): string {
    const parts = this.start(usage ?? undefined);
    parts.push(...this.closeBlock());
    const finalUsage = toAnthropicUsage(usage ?? { promptTokens: this.inputTokens, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0 });
    const stop = stopReason(this.finishReason);
    this.final = {
      id: this.id,
      type: 'message',
      role: 'assistant',
      model: this.model,
      content: this.content,
      stop_reason: stop,
      stop_sequence: null,
      usage: finalUsage,
    };
    parts.push(event('message_delta', { delta: { stop_reason: stop, stop_sequence: null }, usage: finalUsage }));
    parts.push(event('message_stop', {}));
    return sse(parts);
  }

  error(error: ProxyError): string {
    return sse(this.closeBlock()) + anthropicErrorEvent(error);
  }

  add(): void {
    // Chunks are taken in event(), as they are written.
  }

  result(): string | null {
    return this.final && JSON.stringify(this.final);
  }
}

interface NativeEvent {
  type?: string;
  index?: number;
  message?: Message;
  content_block?: Record<string, unknown>;
  delta?: { type?: string; text?: string; partial_json?: string; thinking?: string; signature?: string; stop_reason?: string; stop_sequence?: string | null };
  usage?: Record<string, unknown>;
}

/**
 * A stream already made of Messages events (native, or replayed): written as it is, and
 * assembled into the Message it amounts to when the answer is to be cached or stored.
 */
export class MessagesEventStream implements StreamFraming, AnswerAssembler {
  private message: (Omit<Message, 'content'> & { content: Array<Record<string, unknown>> }) | null = null;
  private readonly json = new Map<number, string>();
  private complete = false;

  add(data: string): void {
    const e = JSON.parse(data) as NativeEvent;
    const message = this.message;
    if (e.type === 'message_start' && e.message) this.message = { ...e.message, content: [] };
    else if (!message) return;
    else if (e.type === 'content_block_start' && e.content_block && e.index !== undefined) message.content[e.index] = { ...e.content_block };
    else if (e.type === 'content_block_delta' && e.index !== undefined && e.delta) {
      const block = message.content[e.index] ?? {};
      if (e.delta.type === 'text_delta') block.text = `${String(block.text ?? '')}${e.delta.text ?? ''}`;
      else if (e.delta.type === 'thinking_delta') block.thinking = `${String(block.thinking ?? '')}${e.delta.thinking ?? ''}`;
      else if (e.delta.type === 'signature_delta') block.signature = e.delta.signature;
      else if (e.delta.type === 'input_json_delta') this.json.set(e.index, `${this.json.get(e.index) ?? ''}${e.delta.partial_json ?? ''}`);
    } else if (e.type === 'content_block_stop' && e.index !== undefined && this.json.has(e.index)) {
      message.content[e.index] = { ...message.content[e.index], input: toolInput(this.json.get(e.index)!) };
    } else if (e.type === 'message_delta') {
      message.stop_reason = e.delta?.stop_reason ?? message.stop_reason;
      message.stop_sequence = e.delta?.stop_sequence ?? null;
      message.usage = { ...message.usage, ...(e.usage as Message['usage']) };
    } else if (e.type === 'message_stop') this.complete = true;
  }

  result(): string | null {
    return this.complete && this.message ? JSON.stringify(this.message) : null;
  }

  event(part: StreamPart): string {
    return namedEvent(part.event ?? 'message', part.data!);
  }

  end(): string {
    return '';
  }

  error(error: ProxyError): string {
    return anthropicErrorEvent(error);
  }
}
