#!/usr/bin/env node
/**
 * `npm run demo [-- --url http://localhost:8787] [--seconds 60] [--concurrency 6]`
 *
 * Sends a realistic mix of traffic through the built-in mock provider from several tenants, with
 * the official `openai` SDK, so the dashboard has something to show within a minute:
 * routed (`model: auto` + x-task) and pinned models, streams with and without usage, repeated
 * `temperature: 0` questions (response-cache hits), long shared system prompts (prompt-cache
 * reads), embeddings, upstream failures, a stream that breaks mid-way, abandoned streams and a
 * tenant that runs into its rate limit. The tenants sample calls for shadow evaluation (the mock
 * judges too), and a first burst of one tenant's `classify` calls gives that task more than the
 * 50 judged samples a recommendation needs, so the Routing page has something to say.
 *
 * If nothing answers at --url, it starts the server itself (as `npm start` does, on that port
 * and the default local state) and keeps it running after the traffic until Ctrl-C.
 * The admin token: --admin-token, else $ADMIN_TOKEN, else the local default.
 */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import OpenAI from 'openai';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The demo's tenants: what they do differs, so the charts have something to compare. */
export const DEMO_TENANTS = [
  {
    name: 'Acme Support',
    weight: 4,
    settings: { rpm: 600, monthly_budget_usd: 25, routing: 'auto', shadow_eval_rate: 0.5 },
    tasks: ['classify', 'summarize', 'extract', 'generate'],
  },
  { name: 'Globex Search', weight: 3, settings: { rpm: 600, monthly_budget_usd: 10, shadow_eval_rate: 1 }, tasks: ['route', 'extract', 'classify'] },
  {
    name: 'Initech Analytics',
    weight: 2,
    settings: { tpm: 200_000, monthly_budget_usd: 40, shadow_eval_rate: 0.25 },
    tasks: ['analyze', 'summarize', 'extract', 'classify'],
  },
  { name: 'Umbrella Labs', weight: 1, settings: { rpm: 20, shadow_eval_rate: 1 }, tasks: ['code', 'classify', 'reason'] },
];

/** The burst of one tenant's calls of one task that starts the demo: every one evaluated, more than the 50 samples a recommendation needs. */
const EVALUATED_BURST = { tenant: 'Globex Search', task: 'classify', calls: 60 };

const QUESTIONS = [
  'How do I reset my password?',
  'What are your opening hours?',
  'Can I change the delivery address of an order?',
  'Which plans include single sign-on?',
  'How do refunds work for annual plans?',
];
const TOPICS = [
  'an invoice dispute',
  'a shipping delay',
  'a login problem',
  'a feature request',
  'a billing upgrade',
  'an API timeout',
  'a data export',
  'a security question',
];
// Long enough (> 1,024 tokens) for the provider-side prompt cache to apply on reuse.
const HANDBOOK = `You are the support assistant of a software company. ${'Follow the style guide: be brief, be kind, cite the policy section, never promise refunds without a ticket. '.repeat(60)}`;

/**
 * @template T
 * @param {T[]} items
 * @returns {T}
 */
const pick = (items) => items[Math.floor(Math.random() * items.length)];
/** Log-normal-ish latencies: most calls quick, a long tail, as real providers behave. */
const latency = () => Math.round(Math.min(8000, 120 * Math.exp(Math.random() * 2.2 + (Math.random() < 0.05 ? 1.5 : 0))));

/**
 * @param {string} name
 * @param {string} fallback
 */
function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

/**
 * @param {string} url
 * @param {string} token
 * @param {string} method
 * @param {string} path
 * @param {object} [body]
 * @returns {Promise<unknown>}
 */
async function admin(url, token, method, path, body) {
  const response = await fetch(`${url}/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw new Error(`${method} /admin${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** @typedef {(typeof DEMO_TENANTS)[number] & { client: OpenAI }} DemoTenant */

/**
 * The demo tenants, created on first use; on later runs each gets a fresh key (keys are shown only once).
 * @param {string} url
 * @param {string} adminToken
 * @returns {Promise<DemoTenant[]>}
 */
async function demoTenants(url, adminToken) {
  const existing = /** @type {{ data: { id: string, name: string }[] }} */ (await admin(url, adminToken, 'GET', '/tenants')).data;
  return Promise.all(
    DEMO_TENANTS.map(async (spec) => {
      const found = existing.find((t) => t.name === spec.name);
      // A tenant from an earlier demo (perhaps of an earlier version) samples calls for evaluation as this one does.
      if (found) await admin(url, adminToken, 'PATCH', `/tenants/${found.id}`, { shadow_eval_rate: spec.settings.shadow_eval_rate });
      const key = found
        ? /** @type {{ api_key: string }} */ (await admin(url, adminToken, 'POST', `/tenants/${found.id}/keys`)).api_key
        : /** @type {{ api_key: string }} */ (await admin(url, adminToken, 'POST', '/tenants', { name: spec.name, ...spec.settings })).api_key;
      return { ...spec, client: new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 }) };
    }),
  );
}

/**
 * One call of the mix; returns what kind of call it was and how it ended.
 * @param {DemoTenant} tenant
 * @returns {Promise<string>}
 */
async function oneCall(tenant) {
  const task = pick(tenant.tasks);
  const roll = Math.random();
  const headers = { 'x-task': task };
  /** @param {string} text */
  const say = (text) => `${text} mock:latency=${latency()}`;
  try {
    if (roll < 0.05) {
      await tenant.client.embeddings.create({ model: 'mock/mock-embed', input: [pick(QUESTIONS), pick(TOPICS)] });
      return 'embeddings';
    }
    if (roll < 0.2) {
      // Same question, temperature 0: cacheable, so repeats are answered from the response cache.
      await tenant.client.chat.completions.create({ model: 'auto', temperature: 0, messages: [{ role: 'user', content: pick(QUESTIONS) }] }, { headers });
      return 'cacheable';
    }
    if (roll < 0.24) {
      await tenant.client.chat.completions.create(
        { model: 'auto', messages: [{ role: 'user', content: `Summarize ${pick(TOPICS)} mock:fail=${pick([429, 500, 502, 503])}` }] },
        { headers },
      );
      return 'failure';
    }
    if (roll < 0.55) {
      const abandon = Math.random() < 0.05;
      const broken = !abandon && Math.random() < 0.04;
      const controller = new AbortController();
      const stream = await tenant.client.chat.completions.create(
        {
          model: Math.random() < 0.9 ? 'auto' : 'expensive',
          stream: true,
          stream_options: Math.random() < 0.5 ? { include_usage: true } : undefined,
          max_tokens: 120 + Math.floor(Math.random() * 300),
          messages: [
            { role: 'system', content: HANDBOOK },
            { role: 'user', content: say(`Draft a reply about ${pick(TOPICS)}${broken ? ' mock:stream-error' : ''}`) },
          ],
        },
        { headers, signal: controller.signal },
      );
      let chunks = 0;
      for await (const _chunk of stream) if (abandon && ++chunks === 3) controller.abort();
      return broken ? 'stream-error' : 'stream';
    }
    await tenant.client.chat.completions.create(
      {
        model: Math.random() < 0.85 ? 'auto' : pick(['cheap', 'expensive', 'mock/mock-large']),
        max_tokens: 60 + Math.floor(Math.random() * 400),
        messages: [{ role: 'user', content: say(`Please ${task} this: ${pick(TOPICS)}, ticket ${Math.floor(Math.random() * 1e6)}.`) }],
      },
      { headers },
    );
    return 'chat';
  } catch (error) {
    if (/** @type {{ name?: unknown } | null | undefined} */ (error)?.name === 'AbortError' || error instanceof OpenAI.APIUserAbortError) return 'abandoned';
    if (error instanceof OpenAI.RateLimitError) return 'rate-limited';
    if (error instanceof OpenAI.APIError) return `error ${error.status ?? 'stream'}`;
    throw error;
  }
}

/**
 * Runs the mix against a server for `seconds`, `concurrency` calls at a time. Returns the
 * outcome counts. Exported for the screenshot script.
 * @param {{ url: string, adminToken: string, seconds?: number, concurrency?: number, onProgress?: (sent: number, outcomes: Record<string, number>) => void }} options
 */
export async function runDemoTraffic({ url, adminToken, seconds = 60, concurrency = 6, onProgress = () => {} }) {
  const tenants = await demoTenants(url, adminToken);
  const weighted = tenants.flatMap((t) => Array.from({ length: t.weight }, () => t));
  const burst = tenants.find((t) => t.name === EVALUATED_BURST.tenant);
  for (let i = 0; burst && i < EVALUATED_BURST.calls; i += concurrency) {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, EVALUATED_BURST.calls - i) }, (_, j) =>
        burst.client.chat.completions.create(
          { model: 'auto', messages: [{ role: 'user', content: `Classify this query: ${pick(TOPICS)} #${i + j} ${Math.floor(Math.random() * 1e6)}` }] },
          { headers: { 'x-task': EVALUATED_BURST.task } },
        ),
      ),
    );
  }
  /** @type {Record<string, number>} */
  const outcomes = {};
  const deadline = Date.now() + seconds * 1000;
  let sent = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        const outcome = await oneCall(pick(weighted));
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        if (++sent % 50 === 0) onProgress(sent, outcomes);
      }
    }),
  );
  return { sent, outcomes };
}

/** @param {string} url */
async function answers(url) {
  try {
    return (await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) })).status < 500;
  } catch {
    return false;
  }
}

async function main() {
  const url = arg('url', 'http://localhost:8787').replace(/\/$/, '');
  const adminToken = arg('admin-token', process.env.ADMIN_TOKEN ?? 'dev-admin-token');
  const seconds = Number(arg('seconds', '60'));
  const concurrency = Number(arg('concurrency', '6'));

  /** @type {import('node:child_process').ChildProcess | undefined} */
  let server;
  if (!(await answers(url))) {
    const port = new URL(url).port || '8787';
    console.log(`Nothing answers at ${url}: starting the server (npm start -- --port ${port})…`);
    server = spawn(process.execPath, [join(root, 'scripts/start.mjs'), '--port', port], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    process.on('SIGINT', () => server?.kill('SIGINT'));
    server.on('exit', (code) => process.exit(code ?? 0));
    const deadline = Date.now() + 120_000;
    while (!(await answers(url))) {
      if (Date.now() > deadline) throw new Error(`the server did not answer at ${url}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  console.log(`Sending demo traffic to ${url} for ${seconds} s (${concurrency} at a time)…`);
  const { sent, outcomes } = await runDemoTraffic({ url, adminToken, seconds, concurrency, onProgress: (n) => process.stdout.write(`\r  ${n} calls`) });
  console.log(
    `\r  ${sent} calls: ${Object.entries(outcomes)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')}`,
  );
  console.log(`\nOpen ${url}/dashboard/ and sign in with the admin token${adminToken === 'dev-admin-token' ? ' (dev-admin-token)' : ''}.`);
  if (server) console.log('The server keeps running; Ctrl-C stops it.');
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
