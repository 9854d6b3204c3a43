/**
 * Converting between a chat.completion and its stream of chunks: assembling a streamed
 * answer so the response cache can store it, and replaying a stored answer as a stream.
 */
import { type PartReader, partsOf, type StreamPart } from '../../streaming/parts';
import { toOpenAIUsage, type Usage } from '../../core/usage';
import type { ChatChunk, ChatCompletion, ToolCall } from '../../providers/types';

/**
 * Builds the chat.completion a stream amounts to (first choice only: the proxy streams n = 1).
 * It sees every upstream chunk as sent, so it never throws: a chunk it cannot use (not JSON, a
 * tool call index out of order) drops the assembled copy, and the client's stream goes on.
 */
export class CompletionAssembler {
  private id = '';
  private created = 0;
  private model = '';
  private content = '';
  private finishReason: string | null = null;
  private readonly toolCalls: ToolCall[] = [];
  private intact = true;

  add(data: string): void {
    if (!this.intact) return;
    try {
      this.addChunk(JSON.parse(data) as ChatChunk);
    } catch {
      this.intact = false;
    }
  }

  private addChunk(chunk: ChatChunk): void {
    this.id ||= chunk.id ?? '';
    this.created ||= chunk.created ?? 0;
    this.model ||= chunk.model ?? '';
    const choice = chunk.choices?.[0];
    if (!choice) return;
    if (typeof choice.delta?.content === 'string') this.content += choice.delta.content;
    for (const call of choice.delta?.tool_calls ?? []) {
      // Calls are numbered 0, 1, 2... as they start; an index from the upstream is trusted no
      // further than that (`__proto__` or 1e9 must not reach the array).
      const index = call.index;
      if (!Number.isInteger(index) || index < 0 || index > this.toolCalls.length) throw new RangeError('tool call index out of order');
      const target = (this.toolCalls[index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
      if (call.id) target.id = call.id;
      if (call.function?.name) target.function.name += call.function.name;
      if (call.function?.arguments) target.function.arguments += call.function.arguments;
    }
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
  }

  /** The completion JSON, or null when the stream did not finish or could not be assembled (nothing worth caching). */
  result(usage: Usage): string | null {
    if (!this.intact || !this.finishReason) return null;
    const completion: ChatCompletion = {
      id: this.id,
      object: 'chat.completion',
      created: this.created,
      model: this.model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: this.content === '' && this.toolCalls.length ? null : this.content,
            ...(this.toolCalls.length ? { tool_calls: this.toolCalls } : {}),
          },
          finish_reason: this.finishReason,
        },
      ],
      usage: toOpenAIUsage(usage),
    };
    return JSON.stringify(completion);
  }
}

/** Characters per replayed content chunk: small enough to look like a stream, few enough to be cheap. */
const REPLAY_CHUNK_CHARS = 256;

/** A stored completion as the parts of a stream, ending with the usage chunk. */
export function replayAsStream(json: string, usage: Usage): PartReader {
  const completion = JSON.parse(json) as ChatCompletion;
  const choice = completion.choices[0];
  const chunk = (choices: unknown[], extra: object = {}) =>
    JSON.stringify({ id: completion.id, object: 'chat.completion.chunk', created: completion.created, model: completion.model, choices, ...extra });
  const delta = (d: object, finish: string | null = null) => ({ data: chunk([{ index: 0, delta: d, finish_reason: finish }]) });

  const parts: StreamPart[] = [delta({ role: 'assistant', content: '' })];
  const content = choice.message.content ?? '';
  for (let i = 0; i < content.length; i += REPLAY_CHUNK_CHARS) parts.push(delta({ content: content.slice(i, i + REPLAY_CHUNK_CHARS) }));
  choice.message.tool_calls?.forEach((call, index) => parts.push(delta({ tool_calls: [{ index, ...call }] })));
  parts.push(delta({}, choice.finish_reason));
  parts.push({ data: chunk([], { usage: toOpenAIUsage(usage) }), usage, usageOnly: true });

  return partsOf(parts);
}
