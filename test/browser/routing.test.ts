/**
 * The dashboard's Routing page in real headless Chromium against the real server (`npm start`, the
 * mock provider and its simulated judge): a tenant whose `code` task was moved to the cheap tier is
 * evaluated on every call; the page shows the task's samples, agreement and recommendation with a
 * chart over time, and applying the recommendation moves the task back for the next call.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoutingQuality } from '../../analytics/types';
import { startServer, type RunningServer } from '../e2e/server';
import { launchOptions } from './chromium';

let server: RunningServer;
let browser: Browser;
let page: Page;

/** Calls sent, all evaluated: more than the 50 judged samples a recommendation needs. */
const CALLS = 60;

const poll = <T>(value: () => T | Promise<T>) => expect.poll(value, { timeout: 30_000, interval: 250 });

async function admin<T>(path: string, method = 'GET', body?: unknown): Promise<T> {
  const response = await fetch(`${server.url}/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.status, await response.clone().text()).toBeLessThan(300);
  return (await response.json()) as T;
}

async function codeCall(apiKey: string, i: number): Promise<Response> {
  const response = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'x-task': 'code' },
    body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: `Write a function that parses record ${i}` }] }),
  });
  await response.text();
  return response;
}

beforeAll(async () => {
  server = await startServer();
  browser = await chromium.launch(await launchOptions());
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (error) => {
    throw error;
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('the Routing page', () => {
  it('shows a task’s agreement and recommendation, draws it over time, and applies the recommendation as an override', async () => {
    const tenant = await admin<{ id: string; name: string; api_key: string }>('/tenants', 'POST', {
      name: 'Routing Browser Co',
      shadow_eval_rate: 1,
      task_tiers: { code: 'cheap' },
    });
    for (let i = 0; i < CALLS; i += 6) {
      const batch = await Promise.all(Array.from({ length: 6 }, (_, j) => codeCall(tenant.api_key, i + j)));
      for (const response of batch) expect(response.headers.get('x-proxy-route-reason')).toBe('task:code+override:cheap');
    }
    // Evaluations run after each response: wait until they are all stored.
    await poll(async () => {
      const report = await admin<RoutingQuality>(`/analytics/routing-quality?tenant=${tenant.id}`);
      const row = report.data.find((r) => r.task === 'code');
      return (row?.samples ?? 0) + (row?.invalid ?? 0) + (row?.failed ?? 0);
    }).toBe(CALLS);

    await page.goto(`${server.url}/dashboard/`);
    await page.getByLabel('Admin token').fill(server.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByRole('link', { name: 'Routing' }).click();
    await page.getByRole('heading', { name: 'Routing quality' }).waitFor();
    await page.getByLabel('Tenant').selectOption(tenant.id);
    await poll(() => new URL(page.url()).hash).toContain(`tenant=${tenant.id}`);

    const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'code', exact: true }) });
    await row.waitFor();
    const text = (await row.textContent()) ?? '';
    expect(text).toContain('cheap');
    expect(text).toContain(`${CALLS}`);
    // The simulated judge finds the cheap tier's code answers worse most of the time.
    expect(text).toContain('Move to expensive');
    expect(text).toMatch(/costs \$[\d.]+ more/);
    expect(await page.getByRole('group', { name: 'Evaluation spend this month' }).textContent()).toMatch(/\$\d/);

    // Agreement over time: a chart with the task's series, drawn.
    await page.waitForSelector('.chart canvas');
    const chart = await page.$eval('.chart canvas', (canvas) => ({
      label: canvas.getAttribute('aria-label'),
      painted: Array.from((canvas as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, 300, 300).data).some((v, i) => i % 4 === 3 && v > 0),
    }));
    expect(chart.label).toContain('Agreement of the cheap tier');
    expect(chart.painted).toBe(true);

    await row.getByRole('button', { name: 'Apply to Routing Browser Co' }).click();
    await poll(() => page.getByRole('status').filter({ hasText: 'Applied' }).count()).toBe(1);
    expect((await admin<{ task_tiers: Record<string, string> }>(`/tenants/${tenant.id}`)).task_tiers).toEqual({ code: 'expensive' });
    await poll(() => page.getByLabel('Per-task overrides').textContent()).toContain('code → expensive');
    // Applied: the button is gone, and the next call goes to the expensive tier, saying why.
    expect(await row.getByRole('button', { name: /Apply/ }).count()).toBe(0);
    const next = await codeCall(tenant.api_key, CALLS);
    expect([next.headers.get('x-proxy-tier'), next.headers.get('x-proxy-route-reason')]).toEqual(['expensive', 'task:code+override:expensive']);
  });
});
