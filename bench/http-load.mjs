/**
 * A small HTTP load generator for the benchmarks: keep-alive connections, `concurrency` requests
 * in flight, every latency recorded (time to the last byte of the answer).
 */
import http from 'node:http';

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/**
 * @typedef {{ status: number | undefined, ms: number, firstByteMs: number, requestId: string | string[] | null }} PostResult
 * @typedef {{ url: string, body: string, headers?: Record<string, string> }} LoadRequest
 */

/**
 * One POST; resolves with its status, latency (to the last byte) and time to the first body byte in ms, and the proxy's request id (if any).
 * @param {string} url
 * @param {string} body
 * @param {Record<string, string>} [headers]
 * @returns {Promise<PostResult>}
 */
export function post(url, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const since = () => Number(process.hrtime.bigint() - started) / 1e6;
    const request = http.request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } },
      (response) => {
        /** @type {number | null} */
        let firstByteMs = null;
        response.on('data', () => (firstByteMs ??= since()));
        response.on('end', () =>
          resolve({ status: response.statusCode, ms: since(), firstByteMs: firstByteMs ?? since(), requestId: response.headers['x-request-id'] ?? null }),
        );
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/**
 * Sends `count` requests (or for `durationMs`), `concurrency` at a time, each client waiting
 * `pauseMs` after each answer. `next(i)` gives the i-th request as { url, body, headers }.
 * Returns the latencies, statuses and elapsed time.
 * @param {{ concurrency: number, count?: number, durationMs?: number, pauseMs?: number, next: (i: number) => LoadRequest }} options
 */
export async function load({ concurrency, count = Infinity, durationMs = Infinity, pauseMs = 0, next }) {
  /** @type {number[]} */
  const latencies = [];
  /** @type {number[]} */
  const firstBytes = [];
  /** @type {PostResult[]} */
  const results = [];
  let issued = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued < count && performance.now() < deadline) {
        const { url, body, headers } = next(issued++);
        const result = await post(url, body, headers);
        latencies.push(result.ms);
        firstBytes.push(result.firstByteMs);
        results.push(result);
        if (pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    }),
  );
  return { latencies, firstBytes, results, elapsedMs: performance.now() - started };
}

/**
 * @param {number[]} values
 * @param {number} p
 */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
