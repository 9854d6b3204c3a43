/** Request bodies the benchmarks send. */

const TEXT = 'the quick brown fox jumps over the lazy dog while the proxy counts every token it sees ';
const words = (bytes) => TEXT.repeat(Math.ceil(bytes / TEXT.length)).slice(0, bytes);

/** A Chat Completions body of about `bytes`, with `stream` first (upstream.mjs reads it from the start). */
export const chatBody = (bytes, stream) =>
  JSON.stringify({ ...(stream ? { stream: true } : {}), model: 'openai/gpt-4o-mini', messages: [{ role: 'system', content: 'Answer briefly.' }, { role: 'user', content: words(bytes) }] });
