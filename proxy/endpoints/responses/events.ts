/**
 * Responses streams as the proxy writes them. One writer (ResponseEvents) numbers the events
 * and names them; it is driven three ways:
 * - from the internal form's chunks, for a provider that does not speak Responses
 *   (ChatChunksAsResponse, a stream framing);
 * - from a whole Response, to replay a cached answer as a stream (replayResponse);
 * and a native stream passes through untouched, watched by ResponsesEventStream for what the
 * proxy needs of it (the response to cache, the sequence number an error event would take),
 * as a replayed one is.
 *
 * The sequence is the one OpenAI's SDKs rely on: response.created, response.in_progress, then
 * per output item output_item.added, (content_part.added, output_text.delta..., output_text.done,
 * content_part.done | function_call_arguments.delta..., function_call_arguments.done),
 * output_item.done, and last response.completed (or .incomplete, or error and .failed).
 */
import type { ProxyError } from '../../core/errors';
import type { Usage } from '../../core/usage';
import type { ChatChunk } from '../../providers/types';
import { namedEvent, type StreamFraming } from '../../streaming/framing';
import { partsOf, type PartReader, type StreamPart } from '../../streaming/parts';
import type { AnswerAssembler } from '../../pipeline/stream-response';
import { finishResponse, incompleteReason, newItemId, type OutputItem, type ResponseObject } from './translate';

interface Event {
  type: string;
  [field: string]: unknown;
}

/** Numbers events from 0 and writes each as a part (its name and JSON). */
class ResponseEvents {
  private sequence = 0;

  event(type: string, fields: Record<string, unknown> = {}): StreamPart {
    const event: Event = { type, sequence_number: this.sequence++, ...fields };
    return { event: type, data: JSON.stringify(event) };
  }

  /** The error event and the failed response, as OpenAI ends a stream that failed. */
  failure(error: ProxyError, response: ResponseObject | null): StreamPart[] {
    const events = [this.event('error', { code: error.code ?? error.type, message: error.message, param: error.param })];
    if (response)
      events.push(
        this.event('response.failed', { response: { ...response, status: 'failed', error: { code: error.code ?? 'server_error', message: error.message } } }),
      );
    return events;
  }

  /** Every event of one finished output item, from added to done. */
  wholeItem(item: OutputItem, outputIndex: number): StreamPart[] {
    const events = [this.event('response.output_item.added', { output_index: outputIndex, item: inProgress(item) })];
    if (item.type === 'message') {
      (item.content as Array<{ type: string; text?: string }>).forEach((part, contentIndex) => {
        const at = { item_id: item.id, output_index: outputIndex, content_index: contentIndex };
        events.push(this.event('response.content_part.added', { ...at, part: { ...part, text: '' } }));
        if (part.type === 'output_text') {
          for (const delta of pieces(part.text ?? '')) events.push(this.event('response.output_text.delta', { ...at, delta, logprobs: [] }));
          events.push(this.event('response.output_text.done', { ...at, text: part.text ?? '', logprobs: [] }));
        }
        events.push(this.event('response.content_part.done', { ...at, part }));
      });
    } else if (item.type === 'function_call') {
      const at = { item_id: item.id, output_index: outputIndex };
      events.push(this.event('response.function_call_arguments.delta', { ...at, delta: item.arguments }));
      events.push(this.event('response.function_call_arguments.done', { ...at, name: item.name, arguments: item.arguments }));
    }
    events.push(this.event('response.output_item.done', { output_index: outputIndex, item }));
    return events;
  }
}

const inProgress = (item: OutputItem): OutputItem =>
  item.type === 'message'
    ? { ...item, status: 'in_progress', content: [] }
    : item.type === 'function_call'
      ? { ...item, status: 'in_progress', arguments: '' }
      : item;

/** Characters per replayed text delta: small enough to look like a stream, few enough to be cheap. */
const REPLAY_DELTA_CHARS = 256;
const pieces = (text: string) =>
  Array.from({ length: Math.max(1, Math.ceil(text.length / REPLAY_DELTA_CHARS)) }, (_, i) => text.slice(i * REPLAY_DELTA_CHARS, (i + 1) * REPLAY_DELTA_CHARS));

const sse = (parts: StreamPart[]) => parts.map((part) => namedEvent(part.event!, part.data!)).join('');

/** The Responses error event alone, for a stream whose failure came before any response existed. */
export const responsesErrorFraming = (error: ProxyError) => sse(new ResponseEvents().failure(error, null));

/** A stored Response as the events of its stream, for a cached answer asked for as a stream. */
export function replayResponse(json: string, usage: Usage): PartReader {
  const response = JSON.parse(json) as ResponseObject;
  const events = new ResponseEvents();
  const shell = { ...response, status: 'in_progress', output: [], usage: null };
  const parts = [events.event('response.created', { response: shell }), events.event('response.in_progress', { response: shell })];
  response.output.forEach((item, index) => parts.push(...events.wholeItem(item, index)));
  const end = events.event(response.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response });
  parts.push({ ...end, usage, usageFinal: true });
  return partsOf(parts);
}

/**
 * Writes the internal form's chunks as a Responses stream, and is the assembler of the Response
 * they amount to (the one response.completed carries). Text opens a message item; each tool call
 * opens a function_call item, closing the item before it.
 */
export class ChatChunksAsResponse implements StreamFraming, AnswerAssembler {
  private readonly events = new ResponseEvents();
  private started = false;
  private readonly output: OutputItem[] = [];
  private open: { kind: 'message'; text: string } | { kind: 'call'; args: string } | null = null;
  private finishReason: string | null = null;
  private final: ResponseObject | null = null;

  constructor(private readonly shell: ResponseObject) {}

  event(part: StreamPart): string {
    const parts: StreamPart[] = [];
    if (!this.started) {
      this.started = true;
      parts.push(this.events.event('response.created', { response: this.shell }), this.events.event('response.in_progress', { response: this.shell }));
    }
    const choice = (JSON.parse(part.data!) as ChatChunk).choices?.[0];
    const content = choice?.delta?.content;
    if (typeof content === 'string' && content !== '') parts.push(...this.text(content));
    for (const call of choice?.delta?.tool_calls ?? []) parts.push(...this.toolCall(call));
    if (choice?.finish_reason) this.finishReason = choice.finish_reason;
    return sse(parts);
  }

  private text(delta: string): StreamPart[] {
    const parts: StreamPart[] = [];
    if (this.open?.kind !== 'message') {
      parts.push(...this.closeItem());
      const item: OutputItem = { type: 'message', id: newItemId('msg'), status: 'in_progress', role: 'assistant', content: [] };
      this.output.push(item);
      this.open = { kind: 'message', text: '' };
      parts.push(this.events.event('response.output_item.added', { output_index: this.index, item }));
      parts.push(this.events.event('response.content_part.added', { ...this.at, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }));
    }
    this.open.text += delta;
    parts.push(this.events.event('response.output_text.delta', { ...this.at, content_index: 0, delta, logprobs: [] }));
    return parts;
  }

  private toolCall(call: NonNullable<NonNullable<NonNullable<ChatChunk['choices']>[number]['delta']>['tool_calls']>[number]): StreamPart[] {
    const parts: StreamPart[] = [];
    // A call's first chunk carries its id: a new function_call item starts.
    if (call.id || this.open?.kind !== 'call') {
      parts.push(...this.closeItem());
      const item: OutputItem = {
        type: 'function_call',
        id: newItemId('fc'),
        call_id: call.id ?? newItemId('fc'),
        name: call.function?.name ?? '',
        arguments: '',
        status: 'in_progress',
      };
      this.output.push(item);
      this.open = { kind: 'call', args: '' };
      parts.push(this.events.event('response.output_item.added', { output_index: this.index, item }));
    } else if (call.function?.name) {
      (this.output[this.index] as { name: string }).name += call.function.name;
    }
    const delta = call.function?.arguments ?? '';
    if (delta) {
      this.open.args += delta;
      parts.push(this.events.event('response.function_call_arguments.delta', { ...this.at, delta }));
    }
    return parts;
  }

  private get index() {
    return this.output.length - 1;
  }

  private get at() {
    return { item_id: this.output[this.index].id, output_index: this.index };
  }

  /** The done events of the item being written, if any; the item is final from then on. */
  private closeItem(): StreamPart[] {
    const open = this.open;
    if (!open) return [];
    this.open = null;
    const parts: StreamPart[] = [];
    if (open.kind === 'message') {
      const part = { type: 'output_text', text: open.text, annotations: [] };
      parts.push(this.events.event('response.output_text.done', { ...this.at, content_index: 0, text: open.text, logprobs: [] }));
      parts.push(this.events.event('response.content_part.done', { ...this.at, content_index: 0, part }));
      this.output[this.index] = { ...this.output[this.index], status: 'completed', content: [part] } as OutputItem;
    } else {
      const item = { ...this.output[this.index], arguments: open.args, status: 'completed' } as Extract<OutputItem, { type: 'function_call' }>;
      parts.push(this.events.event('response.function_call_arguments.done', { ...this.at, name: item.name, arguments: open.args }));
      this.output[this.index] = item;
    }
    parts.push(this.events.event('response.output_item.done', { output_index: this.index, item: this.output[this.index] }));
    return parts;
  }

  end(usage: Usage | null): string {
    const parts = this.started
      ? []
      : [this.events.event('response.created', { response: this.shell }), this.events.event('response.in_progress', { response: this.shell })];
    this.started = true;
    parts.push(...this.closeItem());
    this.final = finishResponse(
      this.shell,
      this.output,
      this.finishReason,
      usage ?? { promptTokens: 0, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0 },
    );
    parts.push(this.events.event(incompleteReason(this.finishReason) ? 'response.incomplete' : 'response.completed', { response: this.final }));
    return sse(parts);
  }

  error(error: ProxyError): string {
    return sse([...this.closeItem(), ...this.events.failure(error, { ...this.shell, output: this.output })]);
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
  sequence_number?: number;
  response?: { id?: string; status?: string };
}

/** The id response.created announces: read off its text (OpenAI writes it first), parsed only if it is not there. */
function responseIdOf(data: string): string | null {
  const first = /"response":\s*\{\s*"id":\s*"([^"\\]+)"/.exec(data);
  return first ? first[1] : ((JSON.parse(data) as NativeEvent).response?.id ?? null);
}

/**
 * A stream already made of Responses events: a native one passed through as the upstream sent
 * it, or a cached answer replayed. It watches for what the proxy needs: the id the response
 * announces, the last sequence number (an error event the proxy adds must come after it), and
 * the final response, the answer to cache. Only events that name a response are parsed.
 */
export class ResponsesEventStream implements StreamFraming, AnswerAssembler {
  private sequence = -1;
  private final: string | null = null;
  private ended = false;
  responseId: string | null = null;

  /**
   * `keepFinal`: the whole final response is wanted (for the response cache, for stored
   * content); otherwise only its id is, and the (large) final event is not parsed.
   */
  constructor(private readonly keepFinal = true) {}

  add(data: string): void {
    const tail = data.lastIndexOf('"sequence_number":');
    if (tail !== -1) this.sequence = Math.max(this.sequence, parseInt(data.slice(tail + 18).trimStart(), 10) || 0);
    if (this.responseId === null && data.includes('"response.created"')) this.responseId = responseIdOf(data);
    if (!data.includes('"response.completed"') && !data.includes('"response.incomplete"')) return;
    this.ended = true;
    if (!this.keepFinal) return;
    const event = JSON.parse(data) as NativeEvent;
    this.responseId ??= event.response?.id ?? null;
    this.final = JSON.stringify(event.response);
  }

  /** The final response; or, when only its id was wanted, a response that names its id and nothing more. */
  result(): string | null {
    if (this.final !== null) return this.final;
    return this.ended && this.responseId ? JSON.stringify({ id: this.responseId }) : null;
  }

  event(part: StreamPart): string {
    return namedEvent(part.event ?? 'message', part.data!);
  }

  end(): string {
    return '';
  }

  error(error: ProxyError): string {
    const event = { type: 'error', sequence_number: this.sequence + 1, code: error.code ?? error.type, message: error.message, param: error.param };
    return namedEvent('error', JSON.stringify(event));
  }
}
