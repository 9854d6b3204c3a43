/**
 * The dashboard in real headless Chromium (found by ./chromium.ts, driven by playwright-core) against
 * the real server (`npm start`): sign in, create a tenant and use its key with the openai SDK,
 * then check every page draws what that traffic logged.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { chromium, type Browser, type Page, type Request, type Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../e2e/server';
import { launchOptions } from './chromium';
import type { Storage } from '../../analytics/types';

let server: RunningServer;
let browser: Browser;
let page: Page;
let tenantId: string;
/** What Chromium reported the dashboard's Content-Security-Policy refused, over the whole suite. */
const cspViolations: string[] = [];
let apiKey: string;

/** What the test sends through the new tenant's key. */
const PLAIN_CALLS = 4;
const STREAMED_CALLS = 2;
const FAILED_CALLS = 1;
/** Calls the proxy refuses itself (an unknown model): no upstream sees them. */
const REFUSED_CALLS = 1;
const UPSTREAM_CALLS = PLAIN_CALLS + STREAMED_CALLS + FAILED_CALLS;
const ALL_CALLS = UPSTREAM_CALLS + REFUSED_CALLS;
/** Rows on a page of the request log. */
const PAGE_SIZE = 50;

/** Waits for what the page shows to match: longer than expect.poll's default second, as the server answers slowly on a loaded machine. */
const poll = <T>(value: () => T | Promise<T>) => expect.poll(value, { timeout: 15_000 });

/** The admin API, as the test's own client: GET, or POST with a body. */
async function admin<T>(path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${server.url}/admin${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.status).toBeLessThan(300);
  return (await response.json()) as T;
}

/** Waits until a page's logging (ctx.waitUntil) has landed in D1. */
async function waitForLoggedCalls(tenant: string, count: number) {
  for (let i = 0; i < 100; i++) {
    const { requests } = await admin<{ requests: number }>(`/analytics/summary?tenant=${tenant}`);
    if (requests >= count) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the ${count} calls were not logged`);
}

/** The charts of the current page, once drawn: how many series each has and the sum of their values. */
async function charts() {
  await page.waitForSelector('.chart canvas');
  return page.$$eval('.chart', (nodes) =>
    nodes.map((node) => {
      const canvas = node.querySelector('canvas')!;
      // Something was painted: some pixel is not transparent.
      const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = false;
      for (let i = 3; i < pixels.length && !painted; i += 4) painted = pixels[i] > 0;
      return {
        label: canvas.getAttribute('aria-label')!,
        series: Number(node.getAttribute('data-series')),
        total: Number(node.getAttribute('data-total')),
        painted,
      };
    }),
  );
}

/**
 * Runs `during` while the page's calls to matching URLs are held, as a slow network would hold
 * them (what the page shows while it waits, and what it asked for), then lets them all through,
 * even if `during` failed.
 */
async function whileHeld(pattern: RegExp, during: (asked: () => URL[]) => Promise<void>) {
  const held: Route[] = [];
  let released = false;
  const hold = (route: Route) => (released ? route.continue() : void held.push(route));
  await page.route(pattern, hold);
  try {
    await during(() => held.map((route) => new URL(route.request().url())));
  } finally {
    released = true;
    await Promise.all(held.map((route) => route.continue()));
    await page.unroute(pattern, hold);
  }
}

const open = async (hash: string) => {
  await page.goto(`${server.url}/dashboard/#/${hash}`);
  await page.waitForSelector('main h1');
};

beforeAll(async () => {
  server = await startServer();
  browser = await chromium.launch(await launchOptions());
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (error) => {
    throw error;
  });
  page.on('console', (message) => void (message.text().includes('Content Security Policy') && cspViolations.push(message.text())));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('the dashboard', () => {
  it('is served as static assets at /dashboard/ and asks for the admin token', async () => {
    const html = await fetch(`${server.url}/dashboard/`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toContain('text/html');
    // Security headers from dist/_headers, which the static assets apply (no Worker code runs for them).
    const csp = html.headers.get('content-security-policy') ?? '';
    for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"])
      expect(csp).toContain(directive);
    expect(csp).not.toContain('unsafe-inline');
    expect([html.headers.get('x-content-type-options'), html.headers.get('referrer-policy')]).toEqual(['nosniff', 'no-referrer']);
    expect((await fetch(`${server.url}/_headers`)).status).toBe(404);
    const root = await fetch(`${server.url}/`, { redirect: 'manual' });
    expect([root.status, root.headers.get('location')]).toEqual([302, '/dashboard/']);
    await page.goto(`${server.url}/dashboard/`);
    await page.getByLabel('Admin token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await poll(() => page.getByRole('alert').textContent()).toContain('not the admin token');
    await page.getByLabel('Admin token').fill(server.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    // Kept for this tab's session only.
    expect(await page.evaluate(() => [sessionStorage.length, localStorage.length, document.cookie])).toEqual([1, 0, '']);
  });

  it('creates a tenant and shows its key once, with a copy button', async () => {
    await open('tenants');
    // The tenant list does not depend on the range, nor refresh itself: neither control is offered.
    expect(await page.getByLabel('Time range').count()).toBe(0);
    expect(await page.getByLabel(/Auto-refresh/).count()).toBe(0);
    await page.getByRole('button', { name: 'New tenant' }).click();
    await page.getByLabel('Name').fill('Browser Test Co');
    await page.getByLabel('Requests per minute').fill('500');
    await page.getByLabel('Monthly budget (USD)').fill('12.5');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    const key = page.getByLabel('New API key');
    await key.waitFor();
    apiKey = await key.inputValue();
    expect(apiKey).toMatch(/^sk-/);
    await poll(() => page.getByRole('button', { name: 'Copy' }).isVisible()).toBe(true);
    // Starting another tenant keeps the unseen key on screen.
    await page.getByRole('button', { name: 'New tenant' }).click();
    expect(await page.getByLabel('New API key').inputValue()).toBe(apiKey);
    await page.getByRole('button', { name: 'Cancel' }).click();
    const row = page.getByRole('row').filter({ hasText: 'Browser Test Co' });
    await row.waitFor();
    expect(await row.textContent()).toContain('$12.50');
    const { data } = await admin<{ data: { id: string; name: string; rpm: number }[] }>('/tenants');
    const created = data.find((t) => t.name === 'Browser Test Co')!;
    expect(created.rpm).toBe(500);
    tenantId = created.id;
  });

  it('shows the traffic sent with that key on the overview', async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0 });
    for (let i = 0; i < PLAIN_CALLS; i++)
      await client.chat.completions.create(
        { model: 'auto', messages: [{ role: 'user', content: `Classify ticket ${i} mock:latency=${40 + i * 30}` }] },
        { headers: { 'x-task': 'classify' } },
      );
    for (let i = 0; i < STREAMED_CALLS; i++) {
      const stream = await client.chat.completions.create({ model: 'expensive', stream: true, messages: [{ role: 'user', content: `Write a reply ${i}` }] });
      for await (const _ of stream);
    }
    await expect(client.chat.completions.create({ model: 'nope/unknown', messages: [{ role: 'user', content: 'Hello?' }] })).rejects.toBeInstanceOf(
      OpenAI.NotFoundError,
    );
    // Last, so it is the newest failure in the request log.
    await expect(client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'mock:fail=502' }] })).rejects.toThrow();
    await waitForLoggedCalls(tenantId, ALL_CALLS);

    await open('overview');
    const requests = page.getByRole('group', { name: 'Requests', exact: true });
    await poll(() => requests.textContent()).toContain(String(ALL_CALLS));
    const cheapShare = page.getByRole('group', { name: 'Cheap-tier share' });
    expect(await cheapShare.getByRole('meter').count()).toBe(1);
    expect(await cheapShare.textContent()).toContain('Target 70%');
    // The range's figure among today's and the month's says which it is.
    await page.getByRole('group', { name: 'Cache savings, last 24 hours' }).waitFor();
    const drawn = await charts();
    expect(drawn.map((c) => c.label)).toEqual(
      expect.arrayContaining([expect.stringContaining('Spend in USD'), expect.stringContaining('Requests and errors')]),
    );
    for (const chart of drawn) expect(chart.painted).toBe(true);
    // Requests plus errors, summed over the buckets: the chart plots what was logged.
    expect(drawn.find((c) => c.label.startsWith('Requests and errors'))!.total).toBe(ALL_CALLS + FAILED_CALLS + REFUSED_CALLS);
  });

  it('changes the range from the picker: the URL, the window asked for, and the old numbers dimmed until the new ones arrive', async () => {
    const requests = page.getByRole('group', { name: 'Requests', exact: true });
    await poll(() => requests.textContent()).toContain(String(ALL_CALLS));
    const stale = page.locator('.async.stale[aria-busy="true"]');
    await whileHeld(/\/admin\/analytics\/(timeseries|summary)/, async (asked) => {
      await page.getByLabel('Time range').selectOption('7d');
      expect(new URL(page.url()).hash).toBe('#/overview?range=7d');
      await poll(() => asked().length).toBeGreaterThanOrEqual(4);
      for (const url of asked()) {
        expect(Date.parse(url.searchParams.get('to')!) - Date.parse(url.searchParams.get('from')!)).toBe(7 * 86_400_000);
        if (url.pathname.endsWith('/timeseries')) expect(url.searchParams.get('interval')).toBe('hour');
      }
      // The last range's numbers are still there, but dimmed and busy, not passed off as the new range's.
      expect(await stale.count()).toBeGreaterThanOrEqual(4);
      expect(await stale.filter({ has: requests }).count()).toBe(1);
    });
    await poll(() => page.locator('[aria-busy="true"]').count()).toBe(0);
    expect(await page.locator('.stale').count()).toBe(0);
    expect(await requests.textContent()).toContain(String(ALL_CALLS));
    // A hand-made range that only an inherited property of an object would match falls back to the default.
    await open('overview?range=constructor');
    expect(await page.getByLabel('Time range').inputValue()).toBe('24h');
    // Hours are in local time, and the axis says which.
    expect(await page.locator('.chart').first().getAttribute('data-x-title')).toMatch(/^Time \(UTC([+-]\d\d:\d\d)?\)$/);
  });

  it('shows a failed load with its error and a retry, in a headline number and in a chart panel', async () => {
    const failing = /\/admin\/analytics\/(spend|timeseries)/;
    const fail = (route: Route) =>
      route.fulfill({ status: 500, contentType: 'application/json', body: JSON.stringify({ error: { message: 'D1 is having a bad day' } }) });
    await page.route(failing, fail);
    const month = page.getByRole('group', { name: 'Month to date' });
    const spendChart = page.getByRole('region', { name: 'Spend by model' });
    try {
      // A fresh load: the overview may be open already, with its numbers loaded.
      await open('overview');
      await page.reload();
      await poll(() => month.getByRole('alert').textContent()).toContain('D1 is having a bad day');
      await poll(() => spendChart.getByRole('alert').textContent()).toContain('D1 is having a bad day');
      expect(await month.locator('.stat-value').textContent()).toBe('–');
    } finally {
      await page.unroute(failing, fail);
    }
    await month.getByRole('button', { name: 'Try again' }).click();
    await poll(() => month.locator('.stat-value').textContent()).toMatch(/^\$\d/);
    await spendChart.getByRole('button', { name: 'Try again' }).click();
    await spendChart.locator('canvas').waitFor();
    expect(await spendChart.getByRole('alert').count()).toBe(0);
  });

  it('refreshes a live page every 30 s while the tab is shown, at once when it is shown again, and not when switched off', async () => {
    // A tab of its own, whose clock the test moves (the clock belongs to the browser context).
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await tab.clock.install();
      await tab.addInitScript((token) => sessionStorage.setItem('ai-proxy-admin-token', token), server.adminToken);
      const asked: string[] = [];
      tab.on('request', (request) => void (request.url().includes('/admin/analytics/timeseries') && asked.push(request.url())));
      const show = (state: 'visible' | 'hidden') =>
        tab.evaluate((visibility) => {
          Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visibility });
          document.dispatchEvent(new Event('visibilitychange'));
        }, state);
      await tab.goto(`${server.url}/dashboard/#/latency`);
      await tab.locator('.chart canvas').first().waitFor();
      expect(asked).toHaveLength(1);
      await tab.clock.runFor(30_500);
      await poll(() => asked.length).toBe(2);
      // Hidden, it does not poll; shown again after a refresh fell due, it refreshes at once.
      await show('hidden');
      await tab.clock.runFor(60_000);
      await tab.waitForTimeout(300); // real time, for a request that was wrongly started to show up
      expect(asked).toHaveLength(2);
      await show('visible');
      await poll(() => asked.length).toBe(3);
      await tab.getByLabel('Auto-refresh (30 s)').uncheck();
      await tab.clock.runFor(60_000);
      await show('visible');
      await tab.waitForTimeout(300);
      expect(asked).toHaveLength(3);
    } finally {
      await tab.close();
    }
  });

  it("draws the tenant's own page from its calls", async () => {
    const summary = await admin<{ cost_usd: number; requests: number }>(`/analytics/summary?tenant=${tenantId}`);
    expect(summary.requests).toBe(ALL_CALLS);
    await open(`tenants/${tenantId}`);
    await page.getByRole('heading', { name: 'Browser Test Co' }).waitFor();
    await poll(() => page.getByRole('group', { name: 'Requests', exact: true }).textContent()).toContain(String(ALL_CALLS));
    const drawn = await charts();
    const spend = drawn.find((c) => c.label.includes('spend in USD'))!;
    expect(spend.total).toBeCloseTo(summary.cost_usd, 9);
    expect(spend.series).toBe(2); // the cheap and the expensive mock model
  });

  it('issues keys with settings, changes them and revokes them from the tenant page', async () => {
    const issuing: string[] = [];
    const countIssuing = (request: Request) => void (request.method() === 'POST' && request.url().endsWith('/keys') && issuing.push(request.url()));
    page.on('request', countIssuing);
    await page.getByRole('button', { name: 'Issue new key' }).click();
    await page.getByLabel('Key name').fill('browser-bot');
    await page.getByLabel('Key requests per minute').fill('1');
    await page.getByLabel('Key monthly budget (USD)').fill('5');
    // The button is disabled while the key is being issued: a double click issues one.
    await page.getByRole('button', { name: 'Issue key' }).dblclick();
    const second = await page.getByLabel('New API key').inputValue();
    page.off('request', countIssuing);
    expect(issuing).toHaveLength(1);
    const row = page.getByRole('row').filter({ hasText: 'browser-bot' });
    await poll(() => row.textContent()).toContain('1 requests/min');
    expect(await row.textContent()).toContain('of $5.00');
    expect(await row.textContent()).toContain('never');

    // What the form sent is what the admin API keeps (the proxy's use of it: test/worker/key-settings.test.ts).
    const { data } = await admin<{ data: Array<Record<string, unknown>> }>(`/tenants/${tenantId}/keys`);
    expect(data.find((k) => k.name === 'browser-bot')).toMatchObject({ rpm: 1, tpm: null, monthly_budget_usd: 5, expires_at: null });
    // The call log's counts stay those of the suite: listing models is not a logged call.
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: second, maxRetries: 0 });
    await client.models.list();
    await page.getByRole('button', { name: 'Done' }).click();

    // Changed: no rpm of its own, and an expiry in the past, which stops it now.
    await page.getByRole('button', { name: `Edit key ${second.slice(0, 13)}` }).click();
    await page.getByLabel('Key requests per minute').fill('');
    await page.getByLabel('Expires').fill('2020-01-01T00:00');
    await page.getByRole('button', { name: 'Save key' }).click();
    await poll(() => row.textContent()).toContain('expired');
    expect(await row.textContent()).toContain("tenant's only");
    const expired = await client.models.list().catch((error: unknown) => error);
    expect(expired).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((expired as Error).message).toContain('expired');

    page.once('dialog', (dialog) => dialog.accept());
    await page.getByRole('button', { name: `Revoke key ${second.slice(0, 13)}` }).click();
    await poll(() => page.getByRole('cell', { name: /^revoked/ }).count()).toBe(1);
    await expect(client.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('shows latency percentiles, error rates and the latest failure with its message', async () => {
    await open('latency');
    const failures = page.getByRole('region', { name: 'Most recent failures' });
    await poll(() => failures.textContent()).toContain('502');
    const drawn = await charts();
    expect(drawn.find((c) => c.label.startsWith('Latency p50, p95 and p99'))!.series).toBe(3);
    // The providers' own failures: the proxy's refusal is no provider's error, and it is named, not "(none)".
    expect(drawn.find((c) => c.label.startsWith('Upstream error rate by provider'))!.total).toBeCloseTo((FAILED_CALLS / UPSTREAM_CALLS) * 100, 6);
    const refused = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'no model (bad request)' }) });
    expect(await refused.locator('td').allTextContents()).toEqual([String(REFUSED_CALLS), String(REFUSED_CALLS), '0 of 0', '–', '–']);
    await page.getByRole('link', { name: /All failures in the request log/ }).click();
    await page.getByRole('heading', { name: 'Request log' }).waitFor();
    await poll(() => page.locator('tr[data-request-id]').count()).toBe(FAILED_CALLS + REFUSED_CALLS);
  });

  it('filters the request log', async () => {
    await open('requests');
    await poll(() => page.locator('tr[data-request-id]').count()).toBe(ALL_CALLS);
    await page.getByLabel('Tier').selectOption('expensive');
    // The streams, and the failed call, whose last attempt was the fallback to the expensive tier.
    await poll(() => page.locator('tr[data-request-id]').count()).toBe(STREAMED_CALLS + FAILED_CALLS);
    expect(page.url()).toContain('tier=expensive');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Tenant').selectOption({ label: 'Browser Test Co' });
    await page.getByLabel('Status').selectOption('ok');
    await poll(() => page.locator('tr[data-request-id]').count()).toBe(ALL_CALLS - FAILED_CALLS - REFUSED_CALLS);
  });

  it("opens a call's details: the attempts that failed before the last, and the prompt when the tenant stores it", async () => {
    await open('requests?status=error');
    await page
      .getByRole('button', { name: /^Details of call/ })
      .first()
      .click();
    const attempts = page.getByRole('table', { name: 'Attempts that failed before the last' });
    await attempts.waitFor();
    // Three tries of the routed model, two more of the fallback before the last.
    expect(await attempts.locator('tbody tr').count()).toBe(5);
    expect(await attempts.textContent()).toContain('mock:fail');
    await page.getByText('its tenant does not store content').waitFor();

    await open(`tenants/${tenantId}`);
    await page.getByText('shared prompt cache').waitFor();
    await page.getByRole('button', { name: 'Edit settings' }).click();
    await page.getByLabel('Store prompts and answers').check();
    await page.getByLabel('Isolate its prompt cache').check();
    // Shadow evaluation: a percentage of calls, checked before it is sent; and the kinds it may also sample.
    await page.getByText('EVAL_ALLOW_UNSTORED=true').waitFor();
    await page.getByLabel('Shadow evaluation (% of calls)').fill('150');
    await page.getByRole('button', { name: 'Save' }).click();
    await poll(() => page.getByRole('alert').textContent()).toContain('percentage of calls from 0 to 100');
    await page.getByLabel('Shadow evaluation (% of calls)').fill('2.5%');
    await page.getByLabel('Sent with store: false').check();
    await page.getByLabel('Images', { exact: true }).check();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('stores prompts and answers').waitFor();
    await page.getByText('isolated prompt cache').waitFor();
    expect(await page.locator('.settings-line').textContent()).toContain('shadow evaluation of 2.5% of calls (also images, sent with store: false)');
    expect(await admin<{ shadow_eval_rate: number; shadow_eval_include: string[] }>(`/tenants/${tenantId}`)).toMatchObject({
      shadow_eval_rate: 0.025,
      shadow_eval_include: ['images', 'unstored'],
    });
    // Edited again, the form shows them as saved; emptied, evaluation is off.
    await page.getByRole('button', { name: 'Edit settings' }).click();
    expect(await page.getByLabel('Shadow evaluation (% of calls)').inputValue()).toBe('2.5');
    expect(await page.getByLabel('Images', { exact: true }).isChecked()).toBe(true);
    expect(await page.getByLabel('Tools offered or tool results').isChecked()).toBe(false);
    await page.getByLabel('Shadow evaluation (% of calls)').fill('');
    await page.getByRole('button', { name: 'Save' }).click();
    await poll(() => page.locator('.settings-line').textContent()).toContain('no shadow evaluation');
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0 });
    const asked = await client.chat.completions
      .create({ model: 'cheap', messages: [{ role: 'user', content: 'What is kept when content is stored?' }] })
      .withResponse();
    await waitForLoggedCalls(tenantId, ALL_CALLS + 1);
    await open('requests');
    await page.getByRole('button', { name: `Details of call ${asked.response.headers.get('x-request-id')}` }).click();
    await poll(() => page.getByRole('region', { name: 'Request body' }).textContent()).toContain('What is kept when content is stored?');
    expect(await page.getByRole('region', { name: 'Answer' }).textContent()).toContain('chat.completion');
  });

  it("filters the request log by endpoint, with the filter in the URL, and shows each call's endpoint and reasoning tokens", async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0 });
    const embedded = await client.embeddings.create({ model: 'mock/mock-embed', input: ['Group me by endpoint', 'and me'] }).withResponse();
    const embeddingId = embedded.response.headers.get('x-request-id')!;
    await waitForLoggedCalls(tenantId, ALL_CALLS + 2);
    // What the admin API answers for each endpoint: one embeddings call, every other one a chat call.
    const logged = async (endpoint: string, status = '') =>
      (await admin<{ data: { id: string; endpoint: string }[] }>(`/requests?tenant=${tenantId}&endpoint=${endpoint}&limit=500${status}`)).data;
    expect((await logged('embeddings')).map((r) => r.id)).toEqual([embeddingId]);
    const okChats = (await logged('chat', '&status=ok')).length;
    expect(okChats).toBe(PLAIN_CALLS + STREAMED_CALLS + 1);

    await open(`requests?tenant=${tenantId}`);
    const rows = page.locator('tr[data-request-id]');
    await poll(() => rows.count()).toBe(ALL_CALLS + 2);
    await page.getByLabel('Endpoint').selectOption('embeddings');
    await poll(() => rows.count()).toBe(1);
    expect(new URL(page.url()).hash).toContain('endpoint=embeddings');
    expect(await rows.first().getAttribute('data-request-id')).toBe(embeddingId);
    // The Endpoint column says which API the call came through.
    const headers = await page.getByRole('columnheader').allTextContents();
    expect(await rows.first().locator('td').nth(headers.indexOf('Endpoint')).textContent()).toBe('embeddings');

    // Kept with the other filters, and across a reload: it is in the URL.
    await page.getByLabel('Status').selectOption('ok');
    await poll(() => new URL(page.url()).hash).toMatch(/endpoint=embeddings.*status=ok|status=ok.*endpoint=embeddings/);
    await page.reload();
    await poll(() => rows.count()).toBe(1);
    expect(await page.getByLabel('Endpoint').inputValue()).toBe('embeddings');

    // The details name the endpoint and the reasoning tokens the API has for the call.
    await page.getByRole('button', { name: `Details of call ${embeddingId}` }).click();
    const detail = await admin<{ endpoint: string; reasoning_tokens: number; completion_tokens: number }>(`/requests/${embeddingId}`);
    expect(detail).toMatchObject({ endpoint: 'embeddings', reasoning_tokens: 0, completion_tokens: 0 });
    const facts = page.locator(`[id="details-${embeddingId}"] .facts`);
    await facts.waitFor();
    const fact = (term: string) =>
      facts
        .locator('div')
        .filter({ has: page.getByRole('term').filter({ hasText: new RegExp(`^${term}$`) }) })
        .getByRole('definition');
    expect(await fact('Endpoint').textContent()).toBe('embeddings /v1/embeddings');
    expect(await fact('Reasoning tokens').textContent()).toBe(`${detail.reasoning_tokens} of ${detail.completion_tokens} output`);

    // Another endpoint: the rows of the last one stay, dimmed, until the new ones arrive.
    const calls = page.getByRole('region', { name: 'Calls' });
    await whileHeld(/\/admin\/requests\?/, async (asked) => {
      await page.getByLabel('Endpoint').selectOption('chat');
      await poll(() => asked().length).toBe(1);
      expect([asked()[0].searchParams.get('endpoint'), asked()[0].searchParams.get('status')]).toEqual(['chat', 'ok']);
      expect(await calls.locator('.async.stale[aria-busy="true"]').count()).toBe(1);
      expect(await rows.count()).toBe(1);
    });
    await poll(() => rows.count()).toBe(okChats);
    expect(await calls.locator('.stale').count()).toBe(0);
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await poll(() => rows.count()).toBe(ALL_CALLS + 2);
    expect(await page.getByLabel('Endpoint').inputValue()).toBe('');
  });

  it('stacks spend and groups upstream errors by endpoint, the choice in the URL', async () => {
    await open('spend');
    const overTime = page.getByRole('region', { name: 'Spend over time' });
    await poll(async () => (await charts()).some((c) => c.label.endsWith('stacked by tenant'))).toBe(true);
    await whileHeld(/\/admin\/analytics\/timeseries/, async (asked) => {
      await page.getByRole('radio', { name: 'By endpoint' }).check();
      await poll(() => asked().some((url) => url.searchParams.get('group_by') === 'endpoint')).toBe(true);
      expect(new URL(page.url()).hash).toContain('stack_by=endpoint');
      // The chart stacked by tenant stays, dimmed, until the new answer comes.
      expect(await overTime.locator('.async.stale[aria-busy="true"]').count()).toBe(1);
    });
    const byEndpoint = async () => (await charts()).find((c) => c.label === 'Spend in USD per hour, stacked by endpoint');
    await poll(async () => (await byEndpoint())?.series).toBe(2); // chat and embeddings
    const day = await admin<{ cost_usd: number }>('/analytics/summary');
    expect((await byEndpoint())!.total).toBeCloseTo(day.cost_usd, 9);
    await page.reload();
    expect(await page.getByRole('radio', { name: 'By endpoint' }).isChecked()).toBe(true);
    await poll(async () => (await byEndpoint())?.painted).toBe(true);

    await open('latency');
    await page.getByRole('radio', { name: 'By endpoint' }).check();
    await poll(() => new URL(page.url()).hash).toContain('errors_by=endpoint');
    const errors = page.getByRole('region', { name: 'Upstream errors by endpoint' });
    const row = (endpoint: string) => errors.getByRole('row').filter({ has: page.getByRole('rowheader', { name: endpoint, exact: true }) });
    await row('embeddings').waitFor();
    // One embeddings call, which reached the upstream and did not fail; every failure was a chat call.
    expect((await row('embeddings').locator('td').allTextContents()).slice(0, 4)).toEqual(['1', '0', '0 of 1', '0.00%']);
    expect((await row('chat').locator('td').allTextContents()).slice(0, 3)).toEqual([
      String(ALL_CALLS + 1),
      String(FAILED_CALLS + REFUSED_CALLS),
      `${FAILED_CALLS} of ${UPSTREAM_CALLS + 1}`,
    ]);
    expect((await charts()).find((c) => c.label === 'Upstream error rate by endpoint')).toMatchObject({ series: 1, painted: true });
    // A link (or a reload) opens the same grouping; a value no one offers falls back to the default.
    await open('latency?errors_by=endpoint');
    expect(await page.getByRole('radio', { name: 'By endpoint' }).isChecked()).toBe(true);
    await open('latency?errors_by=colour');
    expect(await page.getByRole('radio', { name: 'By provider' }).isChecked()).toBe(true);
  });

  it("pages through the request log, with the page in the URL; an empty log says so; another tenant's page starts empty", async () => {
    const other = await admin<{ id: string; api_key: string }>('/tenants', { name: 'Paging Co' });
    await open(`requests?tenant=${other.id}`);
    await page.getByText('No calls match these filters in this window.').waitFor();

    // Another tenant's page, while it loads, shows nothing of the last one.
    await open(`tenants/${tenantId}`);
    await page.getByRole('heading', { name: 'Browser Test Co' }).waitFor();
    await whileHeld(/\/admin\/(tenants|analytics)\//, async () => {
      await page.evaluate((id) => (location.hash = `#/tenants/${id}`), other.id);
      await page.getByRole('status').filter({ hasText: 'Loading' }).first().waitFor();
      expect(await page.getByText('Browser Test Co').count()).toBe(0);
    });
    await page.getByRole('heading', { name: 'Paging Co' }).waitFor();

    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: other.api_key, maxRetries: 0 });
    const calls = PAGE_SIZE + 1;
    for (let sent = 0; sent < calls; sent += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, calls - sent) }, (_, i) =>
          client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: `Page me ${sent + i}` }] }),
        ),
      );
    }
    await waitForLoggedCalls(other.id, calls);
    await open(`requests?tenant=${other.id}`);
    const rows = page.locator('tr[data-request-id]');
    await poll(() => rows.count()).toBe(PAGE_SIZE);

    // While the next page loads, "Older" is disabled: a double click asks for it once.
    await whileHeld(/\/admin\/requests\?/, async (asked) => {
      await page.getByRole('button', { name: 'Older' }).dblclick();
      await poll(() => asked().length).toBe(1);
      expect(await page.getByRole('button', { name: 'Older' }).isDisabled()).toBe(true);
      expect(asked()[0].searchParams.get('cursor')).toBeTruthy();
    });
    await poll(() => rows.count()).toBe(1);
    await page.getByText('Page 2').waitFor();
    expect(new URL(page.url()).hash).toMatch(/[?&]cursor=[^&.]+$/);

    await page.reload();
    await poll(() => rows.count()).toBe(1);
    await page.getByText('Page 2').waitFor();
    await page.getByRole('button', { name: 'Newer' }).click();
    await poll(() => rows.count()).toBe(PAGE_SIZE);
    expect(new URL(page.url()).hash).not.toContain('cursor=');
  });

  it("shows spend by user, key and tag on a tenant's page and the Spend page, and the request log's users and tags, filtered", async () => {
    const other = await admin<{ id: string; api_key: string; key_id: string }>('/tenants', { name: 'Attribution Co' });
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: other.api_key, maxRetries: 0 });
    const send = (headers: Record<string, string>) =>
      client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'Attribute me' }] }, { headers });
    await send({ 'x-proxy-user': 'alice', 'x-proxy-tags': 'team=search' });
    await send({ 'x-proxy-user': 'alice', 'x-proxy-tags': 'team=ads,feature=rag' });
    await send({ 'x-proxy-user': 'bob', 'x-proxy-tags': 'team=search' });
    await send({});
    await waitForLoggedCalls(other.id, 4);

    await open(`tenants/${other.id}`);
    const card = page.getByRole('region', { name: /^Spend by (user|key|tag)/ });
    const cells = async (name: string) =>
      card
        .getByRole('row')
        .filter({ has: page.getByRole('rowheader', { name, exact: true }) })
        .locator('td')
        .allTextContents();
    // Requests per user; the call with no user is the group "none".
    await poll(async () => (await cells('alice'))[0]).toBe('2');
    expect([(await cells('bob'))[0], (await cells('none'))[0]]).toEqual(['1', '1']);
    // By tag: the key in its text box, the choice in the URL.
    await card.getByLabel('Tag key').fill('team');
    await card.getByRole('radio', { name: 'By tag' }).check();
    await poll(() => decodeURIComponent(new URL(page.url()).hash)).toContain('by=tag:team');
    await page.getByRole('region', { name: /^Spend by tag team/ }).waitFor();
    await poll(async () => (await cells('search'))[0]).toBe('2');
    expect([(await cells('ads'))[0], (await cells('none'))[0]]).toEqual(['1', '1']);
    await card.getByRole('radio', { name: 'By key' }).check();
    await poll(async () => (await cells(other.key_id))[0]).toBe('4');

    // The Spend page stacks by user: this tenant's two users, and every other call with none.
    await open('spend?stack_by=user');
    const stacked = async () => (await charts()).find((c) => c.label === 'Spend in USD per hour, stacked by user');
    await poll(async () => (await stacked())?.series).toBe(3);
    const day = await admin<{ cost_usd: number }>('/analytics/summary');
    expect((await stacked())!.total).toBeCloseTo(day.cost_usd, 9);
    expect(await page.getByRole('group', { name: 'Stack by' }).getByRole('radio', { name: 'By user' }).isChecked()).toBe(true);

    // The request log shows each call's user and tags, and filters by them.
    await open(`requests?tenant=${other.id}`);
    const rows = page.locator('tr[data-request-id]');
    await poll(() => rows.count()).toBe(4);
    const headers = await page.getByRole('columnheader').allTextContents();
    const column = async (name: string) => (await rows.locator(`td:nth-child(${headers.indexOf(name) + 1})`).allTextContents()).sort();
    expect(await column('User')).toEqual(['alice', 'alice', 'bob', '–']);
    expect(await column('Tags')).toEqual(['feature=rag, team=ads', 'team=search', 'team=search', '–']);
    await page.getByLabel('User').fill('alice');
    await page.getByLabel('User').press('Enter');
    await poll(() => rows.count()).toBe(2);
    await page.getByLabel('Tag').fill('team=search');
    await page.getByLabel('Tag').press('Enter');
    await poll(() => rows.count()).toBe(1);
    expect(decodeURIComponent(new URL(page.url()).hash)).toMatch(/user=alice.*tag=team=search|tag=team=search.*user=alice/);
  });

  it("shows spend per tenant, draws this month's spend, and downloads the month's finance CSV", async () => {
    const now = new Date();
    const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
    const lastMonthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString();
    await open('spend?range=this-month');
    const row = page.getByRole('row').filter({ hasText: 'Browser Test Co' });
    await row.waitFor();
    expect(await row.textContent()).toContain('$12.50');
    const chart = (await charts()).find((c) => c.label === 'Spend in USD per day, stacked by tenant')!;
    const month = await admin<{ cost_usd: number }>(`/analytics/summary?from=${monthStart}`);
    expect(chart).toMatchObject({ painted: true });
    expect(chart.total).toBeCloseTo(month.cost_usd, 9);
    expect(await page.locator('.chart').first().getAttribute('data-x-title')).toBe('Day (UTC)');

    const [download, asked] = await Promise.all([
      page.waitForEvent('download'),
      page.waitForRequest(/\/admin\/export\.csv/),
      page.getByRole('button', { name: 'Download CSV' }).click(),
    ]);
    expect(new URL(asked.url()).searchParams.get('from')).toBe(monthStart);
    const csv = await (await download.createReadStream()).toArray();
    const text = Buffer.concat(csv).toString('utf8');
    expect(text.split('\n')[0]).toContain('day,tenant_id,tenant_name,model,endpoint,');
    expect(text).toContain(`${tenantId},Browser Test Co,`);

    // Last month: the calendar month before this one, in which nothing was spent.
    const [series] = await Promise.all([page.waitForRequest(/\/admin\/analytics\/timeseries/), page.getByLabel('Time range').selectOption('last-month')]);
    const window = new URL(series.url()).searchParams;
    expect([window.get('from'), window.get('to')]).toEqual([lastMonthStart, monthStart]);
    await page.getByRole('region', { name: 'Spend over time' }).getByText('No calls in this window.').waitFor();
  });

  it('warns on the overview when calls were served unpriced, naming the models to price', async () => {
    await open('overview');
    await page.getByRole('group', { name: 'Requests', exact: true }).waitFor();
    // Every call here is priced: no warning.
    expect(await page.getByRole('status').filter({ hasText: 'served unpriced' }).count()).toBe(0);
    // No call of this server's mock models is ever unpriced: the report's answer stands in for one.
    const report = { from: '', to: '', requests: 3, models: [{ model: 'openai/my-finetune', requests: 3, last_seen: new Date().toISOString() }] };
    await page.route(/\/admin\/analytics\/unpriced/, (route) => route.fulfill({ json: report }));
    await page.reload();
    const notice = page.getByRole('status').filter({ hasText: 'served unpriced' });
    await notice.waitFor();
    expect(await notice.textContent()).toContain('openai/my-finetune (3)');
    await page.unroute(/\/admin\/analytics\/unpriced/);
  });

  // After the tests that count every call: this one's tenant spends too.
  it("sets a tenant's alert webhook and thresholds, and shows the alerts sent in the history, filtered", async () => {
    // A webhook receiver of the test's own: plain http is accepted, as the server runs for local development.
    const received: unknown[] = [];
    const receiver: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    try {
      const tenant = await admin<{ id: string; api_key: string }>('/tenants', { name: 'Alerted Co', monthly_budget_usd: 0.000001 });
      await open(`tenants/${tenant.id}`);
      await page.getByRole('button', { name: 'Edit settings' }).click();
      await page.getByLabel('Alert webhook URL').fill(`http://${host}/services/T000/B000/secret-token`);
      await page.getByLabel('Alert thresholds (% of budget)').fill('25, 100');
      await page.getByRole('button', { name: 'Save' }).click();
      await poll(() => page.locator('.settings-line').textContent()).toContain(`budget alerts to ${host} at 25%, 100%`);
      expect((await admin<{ alert_thresholds: number[] }>(`/tenants/${tenant.id}`)).alert_thresholds).toEqual([0.25, 1]);

      // One call spends more than the whole budget: both thresholds alert, once each.
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: tenant.api_key, maxRetries: 0 });
      await client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'Spend it all' }] });
      await poll(() => received.length).toBe(2);

      await page.locator('.page-head').getByRole('link', { name: 'Alerts' }).click();
      await page.getByRole('heading', { name: 'Alerts' }).waitFor();
      const rows = page.locator('tr[data-delivery-id]');
      await poll(() => rows.count()).toBe(2);
      // Tenant names come with the page's list of tenants, which may land after the rows.
      await poll(() => page.getByRole('region', { name: 'Alert deliveries' }).textContent()).toContain('Alerted Co');
      const table = (await page.getByRole('region', { name: 'Alert deliveries' }).textContent())!;
      for (const text of ['25% of the', '100% of the', "Tenant's webhook", `http://${host}/…`, 'delivered', 'Alerted Co']) expect(table).toContain(text);
      // The webhook's path (where a Slack token lives) is not shown.
      expect(table).not.toContain('secret-token');
      expect(await page.getByLabel('Tenant').inputValue()).toBe(tenant.id);

      await page.getByLabel('Kind').selectOption('forecast');
      await poll(() => page.getByRole('region', { name: 'Alert deliveries' }).textContent()).toContain('No alerts sent that match these filters');
      expect(page.url()).toContain('kind=forecast');
    } finally {
      receiver.close();
    }
  });

  it('warns on the overview when D1 is nearly full or calls wait in the overflow', async () => {
    await open('overview');
    await page.getByRole('group', { name: 'Requests', exact: true }).waitFor();
    // A fresh local database is far from full: no warning.
    expect(await page.getByRole('status').filter({ hasText: 'storage needs attention' }).count()).toBe(0);
    // Filling 8 GB of D1 is not done in a test: the report's answer stands in for it.
    const real = await admin<Storage>('/storage');
    expect(real.warnings).toEqual([]);
    const warnings = ['D1 is 85% full (8500000000 of 10000000000 bytes)', '12 calls D1 refused wait in the overflow (R2)'];
    await page.route(/\/admin\/storage/, (route) => route.fulfill({ json: { ...real, warnings } }));
    await page.reload();
    const notice = page.getByRole('status').filter({ hasText: 'storage needs attention' });
    await notice.waitFor();
    for (const warning of warnings) expect(await notice.textContent()).toContain(warning);
    await page.unroute(/\/admin\/storage/);
  });

  it('fits a phone screen without sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const hash of ['overview', 'spend', 'tenants', 'latency', 'requests', 'alerts']) {
      await open(hash);
      await page.waitForFunction(() => !document.querySelector('.spinner'));
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      // On failure, which elements reach past the screen's edge, so the culprit is named.
      const wide =
        overflow > 0
          ? await page.$$eval('main *', (all) =>
              all
                .filter((e) => e.getBoundingClientRect().right > innerWidth)
                .map((e) => `<${e.tagName.toLowerCase()} class="${e.className}"> ${(e.textContent ?? '').slice(0, 80)}`),
            )
          : [];
      expect(overflow, `${hash}: ${wide.slice(0, 5).join(' | ')}`).toBeLessThanOrEqual(0);
      // Every page's link in sight: none pushed off to the side of the header.
      const hidden = await page.$$eval('nav[aria-label="Pages"] a', (links) =>
        links
          .filter((link) => {
            const box = link.getBoundingClientRect();
            return box.left < 0 || box.right > document.documentElement.clientWidth || box.width === 0;
          })
          .map((link) => link.textContent),
      );
      expect(hidden, hash).toEqual([]);
    }
  });

  it('ran every page under the Content-Security-Policy without a refusal', () => {
    expect(cspViolations).toEqual([]);
  });

  it('returns to sign-in when the token stops working', async () => {
    await page.evaluate(() => sessionStorage.setItem('ai-proxy-admin-token', 'revoked-token'));
    await open('overview');
    await page.getByLabel('Admin token').waitFor();
    expect(await page.getByRole('status').textContent()).toContain('Your session ended: the admin token was rejected');
  });
});
