/** Request bodies the benchmarks send. */

const TEXT = 'the quick brown fox jumps over the lazy dog while the proxy counts every token it sees ';
/** @param {number} bytes */
const words = (bytes) => TEXT.repeat(Math.ceil(bytes / TEXT.length)).slice(0, bytes);

/**
 * A Chat Completions body of about `bytes`, with `stream` first (upstream.mjs reads it from the
 * start). `includeUsage` asks for the usage chunk, as an app that counts its tokens does: the
 * proxy then passes the stream through instead of re-framing it.
 * @param {number} bytes
 * @param {boolean} stream
 * @param {boolean} [includeUsage]
 * @returns {string}
 */
export const chatBody = (bytes, stream, includeUsage = false) =>
  JSON.stringify({
    ...(stream ? { stream: true } : {}),
    ...(stream && includeUsage ? { stream_options: { include_usage: true } } : {}),
    model: 'openai/gpt-4o-mini',
    messages: [
      { role: 'system', content: 'Answer briefly.' },
      { role: 'user', content: words(bytes) },
    ],
  });

/**
 * A Responses body of about `bytes` (`stream` first), the prompt as one user message, with
 * `fields` added (e.g. `store: false`; by default a response is stored, as OpenAI's are).
 * @param {number} bytes
 * @param {boolean} stream
 * @param {Record<string, unknown>} [fields]
 * @returns {string}
 */
export const responsesBody = (bytes, stream, fields = {}) =>
  JSON.stringify({
    ...(stream ? { stream: true } : {}),
    model: 'openai/gpt-4o-mini',
    instructions: 'Answer briefly.',
    input: [{ role: 'user', content: words(bytes) }],
    ...fields,
  });

/**
 * An Anthropic Messages body of about `bytes` (`stream` first). Its system prompt is too short for
 * the proxy to mark for prompt caching, so the body is forwarded as sent, as a chat body is.
 * @param {number} bytes
 * @param {boolean} stream
 * @returns {string}
 */
export const messagesBody = (bytes, stream) =>
  JSON.stringify({
    ...(stream ? { stream: true } : {}),
    model: 'anthropic/claude-haiku-4-5',
    max_tokens: 1024,
    system: 'Answer briefly.',
    messages: [{ role: 'user', content: words(bytes) }],
  });
