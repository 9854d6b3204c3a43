/**
 * Helpers for tests that run inside the Workers runtime (the `worker` vitest project).
 *
 *   const call = await callProxy('/v1/chat/completions', { method: 'POST', headers, body }, { ...upstreamEnv(), AE: ae });
 *   const text = await call.response.text();   // read the body first (streams need this)...
 *   await call.settled();                      // ...then wait for ctx.waitUntil work (request-log writes)
 *
 * Bindings come from wrangler.jsonc plus the test-only ones set in vitest.config.ts:
 * TEST_MIGRATIONS (applied by setup.ts), TEST_UPSTREAM_URL (the fake upstream of
 * test/support/upstream-server.ts) and ADMIN_TOKEN = 'test-admin-token'. Storage (D1, KV) is
 * isolated per test file, not per test.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext, type D1Migration } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import type { Env as ProxyEnv } from '../../proxy/core/env';
import type { ReceivedWebhook, RecordedRequest } from '../support/recorded-request';

declare global {
  namespace Cloudflare {
    interface Env extends ProxyEnv {
      TEST_MIGRATIONS: D1Migration[];
      TEST_UPSTREAM_URL: string;
    }
  }
}

export type { ReceivedWebhook, RecordedRequest };

export const BASE_URL = 'http://proxy.test';
export const TEST_ADMIN_TOKEN = 'test-admin-token';
export const TEST_OPENAI_KEY = 'sk-test-openai';
export const TEST_ANTHROPIC_KEY = 'sk-ant-test';

export { env };

export interface ProxyCall {
  response: Response;
  ctx: ExecutionContext;
  /** Waits for everything the Worker passed to ctx.waitUntil (read a streamed body first). */
  settled(): Promise<void>;
}

/**
 * Calls the Worker's fetch handler directly, with the test env plus `envOverrides`
 * (an override set to `undefined` removes a binding for this call).
 */
export async function callProxy(input: string | Request, init?: RequestInit, envOverrides: Partial<ProxyEnv> = {}): Promise<ProxyCall> {
  const request = typeof input === 'string' ? new Request(new URL(input, BASE_URL), init) : init ? new Request(input, init) : input;
  const worker = (await import('../../proxy/index')).default as ExportedHandler<ProxyEnv>;
  const ctx = createExecutionContext();
  const response = await worker.fetch!(request as Request<unknown, IncomingRequestCfProperties>, { ...env, ...envOverrides } as ProxyEnv, ctx);
  let waiting: Promise<void> | undefined;
  return { response, ctx, settled: () => (waiting ??= waitOnExecutionContext(ctx)) };
}

/** POSTs a JSON body. `headers` are added to content-type; `apiKey` becomes `Authorization: Bearer`. */
export function postJson(
  path: string,
  body: unknown,
  options: { apiKey?: string; headers?: Record<string, string>; env?: Partial<ProxyEnv> } = {},
): Promise<ProxyCall> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  return callProxy(path, { method: 'POST', headers, body: JSON.stringify(body) }, options.env);
}

/** Calls an /admin/* route with the test admin token. */
export function callAdmin(path: string, init: RequestInit & { json?: unknown } = {}, envOverrides: Partial<ProxyEnv> = {}): Promise<ProxyCall> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (!headers.has('authorization')) headers.set('authorization', `Bearer ${TEST_ADMIN_TOKEN}`);
  if (json !== undefined) headers.set('content-type', 'application/json');
  return callProxy(path, { ...rest, headers, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) }, envOverrides);
}

export interface RecordingAnalytics extends AnalyticsEngineDataset {
  points: AnalyticsEngineDataPoint[];
}

/** An Analytics Engine dataset that keeps its points (local AE drops writes); pass as `AE`. */
export function recordingAnalytics(): RecordingAnalytics {
  const points: AnalyticsEngineDataPoint[] = [];
  return {
    points,
    writeDataPoint(point?: AnalyticsEngineDataPoint) {
      points.push(structuredClone(point ?? {}));
    },
  };
}

/** Base URL of the fake upstream (no trailing slash). */
export function upstreamUrl(): string {
  return env.TEST_UPSTREAM_URL;
}

/** Env overrides that point both real providers at the fake upstream, with test keys. */
export function upstreamEnv(): Partial<ProxyEnv> {
  return {
    OPENAI_BASE_URL: `${upstreamUrl()}/v1`,
    OPENAI_API_KEY: TEST_OPENAI_KEY,
    ANTHROPIC_BASE_URL: upstreamUrl(),
    ANTHROPIC_API_KEY: TEST_ANTHROPIC_KEY,
  };
}

/** Runs the Worker's cron trigger as if scheduled at `scheduledTime`, and waits for its waitUntil work. */
export async function runCron(scheduledTime: number, envOverrides: Partial<ProxyEnv> = {}): Promise<void> {
  const worker = (await import('../../proxy/index')).default as ExportedHandler<ProxyEnv>;
  const ctx = createExecutionContext();
  await worker.scheduled!(createScheduledController({ scheduledTime, cron: '*/10 * * * *' }), { ...env, ...envOverrides } as ProxyEnv, ctx);
  await waitOnExecutionContext(ctx);
}

/** A webhook receiver of the fake upstream (a channel of its own per test); `fail`: its first N POSTs get a 503. */
export function webhookUrl(channel: string, fail = 0): string {
  return `${upstreamUrl()}/__webhooks/${encodeURIComponent(channel)}${fail ? `?fail=${fail}` : ''}`;
}

/** The POSTs a webhook channel received, oldest first. */
export async function webhookPosts(channel: string): Promise<ReceivedWebhook[]> {
  const res = await fetch(webhookUrl(channel));
  if (!res.ok) throw new Error(`fake upstream /__webhooks answered ${res.status}`);
  return (await res.json()) as ReceivedWebhook[];
}

/** Requests the fake upstream received whose raw body contains `contains` (oldest first). */
export async function upstreamRequests(contains: string): Promise<RecordedRequest[]> {
  const res = await fetch(`${upstreamUrl()}/__requests?contains=${encodeURIComponent(contains)}`);
  if (!res.ok) throw new Error(`fake upstream /__requests answered ${res.status}`);
  return (await res.json()) as RecordedRequest[];
}

/** A short unique string to put in prompts, so upstream recordings can be found race-free. */
export function nonce(prefix = 'n'): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 12)}`;
}

export interface SseEvent {
  event?: string;
  data: string;
}

/** Reads a whole SSE body into events (comments and empty lines skipped). */
export async function readSse(response: Response): Promise<SseEvent[]> {
  const text = await response.text();
  const events: SseEvent[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length) events.push({ ...(event ? { event } : {}), data: data.join('\n') });
  }
  return events;
}

const unavailable = (what: string) => () => Promise.reject(new Error(`${what} is unavailable (injected by the test)`));

/** A D1 binding whose every query fails, as during an outage: pass as `DB`. */
export function unavailableD1(): D1Database {
  const statement = { bind: () => statement, first: unavailable('D1'), all: unavailable('D1'), run: unavailable('D1'), raw: unavailable('D1') };
  return { prepare: () => statement, batch: unavailable('D1'), exec: unavailable('D1'), dump: unavailable('D1') } as unknown as D1Database;
}

/** A KV binding whose every operation fails: pass as `KV`. */
export function unavailableKV(): KVNamespace {
  return {
    get: unavailable('KV'),
    getWithMetadata: unavailable('KV'),
    put: unavailable('KV'),
    delete: unavailable('KV'),
    list: unavailable('KV'),
  } as unknown as KVNamespace;
}
