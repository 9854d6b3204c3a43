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
