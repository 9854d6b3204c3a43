/**
 * Alerts (docs/ALERTS.md), end to end through the real Worker: priced calls through the mock
 * provider, the cron trigger, D1, and webhook receivers played by the fake upstream's
 * /__webhooks/<channel> (one channel per test, told to fail its first N POSTs where a test needs it).
 */
import { describe, expect, it } from 'vitest';
import { MAX_ATTEMPTS } from '../../proxy/alerts/deliveries';
import { ONCALL_MIN_SAMPLES } from '../../proxy/alerts/oncall';
import type { AlertDelivery, AlertDeliveryPage, AlertPayload, BudgetAlert, UpstreamAlert } from '../../proxy/alerts/schemas';
import { createTestTenant } from './fixtures';
import { callAdmin, env, nonce, postJson, runCron, TEST_ADMIN_TOKEN, upstreamUrl, webhookPosts, webhookUrl, type ReceivedWebhook } from './harness';

const MINUTE = 60_000;

/** One priced call through the mock provider, its row written (and its alerts evaluated); its cost in USD. */
async function spend(apiKey: string, envOverrides = {}): Promise<number> {
  const call = await postJson(
    '/v1/chat/completions',
    { model: 'cheap', max_tokens: 16, messages: [{ role: 'user', content: `Classify this short ticket ${nonce()}` }] },
    { apiKey, env: envOverrides },
  );
  expect(call.response.status, await call.response.clone().text()).toBe(200);
  await call.response.text();
  await call.settled();
  return Number(call.response.headers.get('x-proxy-cost-usd'));
}

const payloads = (posts: ReceivedWebhook[]) => posts.map((p) => p.body as AlertPayload);
const budgetAlerts = (posts: ReceivedWebhook[]) => payloads(posts).map((p) => p.alert as BudgetAlert);
/** The thresholds alerted, in the order they arrived at. */
const thresholdsOf = (posts: ReceivedWebhook[]) =>
  budgetAlerts(posts)
    .filter((a) => a.kind === 'budget')
    .map((a) => a.threshold);

async function deliveries(query: string): Promise<AlertDeliveryPage> {
  const call = await callAdmin(`/admin/alerts?${query}`);
  expect(call.response.status).toBe(200);
  return (await call.response.json()) as AlertDeliveryPage;
}

async function setTenant(id: string, patch: Record<string, unknown>): Promise<void> {
  const call = await callAdmin(`/admin/tenants/${id}`, { method: 'PATCH', json: patch });
  expect(call.response.status, await call.response.clone().text()).toBe(200);
}

describe('budget alerts', () => {
  it("sends each threshold once, to the tenant's webhook and to ALERT_WEBHOOK_URL, under concurrent calls and cron runs", async () => {
    const own = nonce('tenant-hook');
    const operator = nonce('operator-hook');
    const withOperator = { ALERT_WEBHOOK_URL: webhookUrl(operator), PUBLIC_URL: 'https://proxy.example.com/' };
    // What one call costs, from a tenant without a budget (nothing to alert about).
    const cost = await spend((await createTestTenant()).apiKey, withOperator);
    expect(cost).toBeGreaterThan(0);
    const budget = cost * 60;
    const created = await callAdmin('/admin/tenants', {
      method: 'POST',
      json: { name: 'Acme <alerts>', monthly_budget_usd: budget, alert_webhook_url: webhookUrl(own), alert_thresholds: [0.3, 0.1, 0.2, 0.1] },
    });
    const tenant = (await created.response.json()) as { id: string; api_key: string; alert_thresholds: number[] };
    // Stored deduplicated and in order.
    expect(tenant.alert_thresholds).toEqual([0.1, 0.2, 0.3]);

    // 20 concurrent calls take month-to-date spend to 20/60 of the budget (33%), past all three
    // thresholds, evaluated where each call is logged and, at the same time, by cron runs that
    // evaluate every budget from D1, as other isolates would.
    await Promise.all([
      ...Array.from({ length: 20 }, () => spend(tenant.api_key, withOperator)),
      ...Array.from({ length: 3 }, () => runCron(Date.now(), withOperator)),
    ]);
    // More spending, and another cron run: nothing is sent twice.
    await spend(tenant.api_key, withOperator);
    await runCron(Date.now(), withOperator);

    for (const channel of [own, operator]) {
      const posts = await webhookPosts(channel);
      expect([...thresholdsOf(posts)].sort()).toEqual([0.1, 0.2, 0.3]);
      // The forecast may have fired too (from the 3rd of the month on, 35% of the budget is on course to exceed it), once at most.
      expect(budgetAlerts(posts).filter((a) => a.kind === 'forecast').length).toBeLessThanOrEqual(1);
      expect(posts.every((p) => p.status === 200 && p.headers['content-type'] === 'application/json')).toBe(true);
    }
    const [first] = (await webhookPosts(own)).filter((p) => (p.body as AlertPayload).alert.kind === 'budget');
    const { text, alert } = first.body as { text: string; alert: BudgetAlert };
    expect(alert).toMatchObject({
      state: 'firing',
      tenant_id: tenant.id,
      tenant_name: 'Acme <alerts>',
      key_id: null,
      month: new Date().toISOString().slice(0, 7),
      budget_usd: budget,
      dashboard_url: `https://proxy.example.com/dashboard/#/tenants/${tenant.id}`,
    });
    expect(alert.spend_usd).toBeGreaterThanOrEqual(alert.threshold! * budget - 1e-12);
    // Slack's text: the name escaped (no forged link), the link to the tenant's page.
    expect(text).toContain('*Acme &lt;alerts&gt;*');
    expect(text).toContain(`<https://proxy.example.com/dashboard/#/tenants/${tenant.id}|Open the dashboard>`);

    // The history: one delivery per alert and destination, delivered at the first attempt, URLs without their path.
    const history = await deliveries(`tenant=${tenant.id}&kind=budget`);
    expect(history.data).toHaveLength(6);
    expect(new Set(history.data.map((d) => `${d.destination} ${d.url} ${d.status} ${d.attempts} ${d.last_http_status}`))).toEqual(
      new Set([`tenant ${upstreamUrl()}/… delivered 1 200`, `operator ${upstreamUrl()}/… delivered 1 200`]),
    );
    expect(history.data.map((d) => d.created_at)).toEqual(
      history.data
        .map((d) => d.created_at)
        .sort()
        .reverse(),
    );
    expect(history.data[0].payload.text).toBe(history.data[0].text);
  });

  it('pages through the history with a cursor, newest first', async () => {
    const tenant = await createTestTenant({ alert_webhook_url: webhookUrl(nonce('paged')), monthly_budget_usd: 1e-9 });
    await spend(tenant.apiKey);
    const seen: AlertDelivery[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page: AlertDeliveryPage = await deliveries(`tenant=${tenant.id}&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.data.length).toBe(1);
      seen.push(...page.data);
      cursor = page.next_cursor;
    }
    // The default thresholds 50%, 80%, 100%, crossed by one call.
    expect(seen.map((d) => d.payload.alert.kind === 'budget' && d.payload.alert.threshold).sort()).toEqual([0.5, 0.8, 1]);
    expect(new Set(seen.map((d) => d.id)).size).toBe(3);
    const refused = await callAdmin('/admin/alerts?cursor=not-a-cursor');
    expect(refused.response.status).toBe(400);
  });

  it("alerts on a key's own budget, to its tenant's webhook, counting that key's calls only", async () => {
    const channel = nonce('key');
    // The tenant has no budget of its own; one of its keys has.
    const tenant = await createTestTenant({ alert_webhook_url: webhookUrl(channel), alert_thresholds: [1] });
    const issued = await callAdmin(`/admin/tenants/${tenant.id}/keys`, { method: 'POST', json: { name: 'ci-bot', monthly_budget_usd: 1e-9 } });
    expect(issued.response.status).toBe(201);
    const key = (await issued.response.json()) as { key_id: string; api_key: string };
    // The tenant's other key spends: nothing to say about ci-bot's budget.
    await spend(tenant.apiKey);
    expect(await webhookPosts(channel)).toEqual([]);
    await spend(key.api_key);
    const [posted] = await webhookPosts(channel);
    expect(posted.body).toMatchObject({ alert: { kind: 'budget', tenant_id: tenant.id, key_id: key.key_id, key_name: 'ci-bot', threshold: 1 } });
    expect((posted.body as AlertPayload).text).toContain(`Key *ci-bot* (${key.key_id}) of tenant`);
    const [delivery] = (await deliveries(`tenant=${tenant.id}`)).data;
    expect([delivery.subject, delivery.key_id]).toEqual([`key:${key.key_id}`, key.key_id]);
  });

  it('alerts from the queue consumer when the call was logged through the queue', async () => {
    const channel = nonce('queued');
    const tenant = await createTestTenant({ alert_webhook_url: webhookUrl(channel), alert_thresholds: [1], monthly_budget_usd: 1e-9 });
    await spend(tenant.apiKey, { REQUEST_LOG_SINK: 'queue' });
    await expect.poll(async () => thresholdsOf(await webhookPosts(channel)), { timeout: 10_000, interval: 100 }).toEqual([1]);
  });

  it('retries a failed delivery with backoff and records every attempt', async () => {
    const channel = nonce('flaky');
    const tenant = await createTestTenant({ alert_webhook_url: webhookUrl(channel, 2), alert_thresholds: [1], monthly_budget_usd: 1e-9 });
    await spend(tenant.apiKey);
    const posts = await webhookPosts(channel);
    expect(posts.map((p) => p.status)).toEqual([503, 503, 200]);
    expect(new Set(posts.map((p) => JSON.stringify(p.body))).size).toBe(1);
    const [delivery] = (await deliveries(`tenant=${tenant.id}`)).data;
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 3, last_http_status: 200, last_error: null, next_attempt_at: null });
    expect(delivery.delivered_at).not.toBeNull();
  });

  it(`leaves later attempts to the cron once their backoff has passed, and gives up after ${MAX_ATTEMPTS}`, async () => {
    const channel = nonce('down');
    const tenant = await createTestTenant({ alert_webhook_url: webhookUrl(channel, 1000), alert_thresholds: [1], monthly_budget_usd: 1e-9 });
    await spend(tenant.apiKey);
    const state = async () => (await deliveries(`tenant=${tenant.id}`)).data[0];
    // Two quick retries where the call was logged; then the next waits for the cron.
    let delivery = await state();
    expect(delivery).toMatchObject({ status: 'pending', attempts: 3, last_http_status: 503 });
    expect(delivery.last_error).toContain('HTTP 503');
    const due = Date.parse(delivery.next_attempt_at!);
    expect(due - Date.parse(delivery.last_attempt_at!)).toBeGreaterThanOrEqual(5 * MINUTE);

    await runCron(due - MINUTE);
    expect((await state()).attempts).toBe(3);
    const attempts: number[] = [];
    for (delivery = await state(); delivery.status === 'pending'; attempts.push(delivery.attempts)) {
      await runCron(Date.parse(delivery.next_attempt_at!));
      delivery = await state();
    }
    expect(attempts).toEqual([4, 5, 6]);
    expect(delivery).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS, next_attempt_at: null, delivered_at: null });
    await runCron(Date.now() + 24 * 60 * MINUTE);
    expect((await webhookPosts(channel)).map((p) => p.status)).toEqual(Array(MAX_ATTEMPTS).fill(503));
  });

  it('sends the forecast alert once, when the month-end forecast first exceeds the budget, and not in the first 3 days', async () => {
    const channel = nonce('forecast');
    const tenant = await createTestTenant({ alert_webhook_url: webhookUrl(channel), monthly_budget_usd: 100 });
    const setSpend = (month: string, usd: number) =>
      env.DB.prepare(
        'INSERT INTO tenant_spend (tenant_id, month, spent_nano) VALUES (?, ?, ?) ON CONFLICT (tenant_id, month) DO UPDATE SET spent_nano = excluded.spent_nano',
      )
        .bind(tenant.id, month, Math.round(usd * 1e9))
        .run();
    // January 16th, 00:00 UTC: 15 of 31 days gone. $45 is on course for $93; $49 for $101.27.
    const mid = Date.UTC(2031, 0, 16);
    await setSpend('2031-01', 45);
    await runCron(mid);
    expect(await webhookPosts(channel)).toEqual([]);
    await setSpend('2031-01', 49);
    await runCron(mid);
    await runCron(mid + 60 * MINUTE);
    const alerts = budgetAlerts(await webhookPosts(channel));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ kind: 'forecast', month: '2031-01', threshold: null, spend_usd: 49, budget_usd: 100 });
    expect(alerts[0].forecast_usd).toBeCloseTo((49 * 31) / 15, 6);
    // February 2nd: $30 would project to $840, but a day's spend says too little yet.
    await setSpend('2031-02', 30);
    await runCron(Date.UTC(2031, 1, 2));
    expect(await webhookPosts(channel)).toHaveLength(1);
  });
});

describe('alert settings', () => {
  const deployed = { ENVIRONMENT: undefined, ADMIN_TOKEN: 'a-deployed-admin-token-of-40-characters!' };
  const asDeployed = (path: string, init: { method: string; json: unknown }) =>
    callAdmin(path, { ...init, headers: { authorization: `Bearer ${deployed.ADMIN_TOKEN}` } }, deployed);

  it('takes a plain http webhook only for local development; deployed it must be https', async () => {
    const refused = await asDeployed('/admin/tenants', { method: 'POST', json: { name: 'deployed', alert_webhook_url: 'http://hooks.example.com/x' } });
    expect(refused.response.status).toBe(400);
    expect(((await refused.response.json()) as { error: { param: string } }).error.param).toBe('alert_webhook_url');
    const created = await asDeployed('/admin/tenants', { method: 'POST', json: { name: 'deployed', alert_webhook_url: 'https://hooks.example.com/x' } });
    expect(created.response.status).toBe(201);
    const { id } = (await created.response.json()) as { id: string };
    expect((await asDeployed(`/admin/tenants/${id}`, { method: 'PATCH', json: { alert_webhook_url: 'http://hooks.example.com/y' } })).response.status).toBe(
      400,
    );
    const local = await callAdmin(`/admin/tenants/${id}`, { method: 'PATCH', json: { alert_webhook_url: 'http://localhost:9/hook' } });
    expect(local.response.status).toBe(200);
    expect(TEST_ADMIN_TOKEN.length).toBeLessThan(deployed.ADMIN_TOKEN.length);
  });

  it('validates thresholds, and null returns them (and the webhook) to the default', async () => {
    const tenant = await createTestTenant();
    for (const bad of [[], [0], [-0.5], [10.5], Array.from({ length: 11 }, (_, i) => (i + 1) / 10), ['0.5']]) {
      const call = await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { alert_thresholds: bad } });
      expect(call.response.status, JSON.stringify(bad)).toBe(400);
    }
    for (const url of ['not a url', 'ftp://hooks.example.com/x', 'javascript:alert(1)']) {
      const call = await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { alert_webhook_url: url } });
      expect(call.response.status, url).toBe(400);
    }
    await setTenant(tenant.id, { alert_thresholds: [2, 0.25], alert_webhook_url: 'https://hooks.example.com/a' });
    const set = (await (await callAdmin(`/admin/tenants/${tenant.id}`)).response.json()) as Record<string, unknown>;
    expect([set.alert_thresholds, set.alert_webhook_url]).toEqual([[0.25, 2], 'https://hooks.example.com/a']);
    await setTenant(tenant.id, { alert_thresholds: null, alert_webhook_url: null });
    const reset = (await (await callAdmin(`/admin/tenants/${tenant.id}`)).response.json()) as Record<string, unknown>;
    expect([reset.alert_thresholds, reset.alert_webhook_url]).toEqual([null, null]);
  });
});

describe('upstream alerts (on-call)', () => {
  /** Request-log rows of one model at `ts`, as the proxy writes them: `statuses` one per row, with their latencies. */
  async function seedCalls(model: string, ts: number, rows: Array<{ status: number; latency: number }>): Promise<string[]> {
    const ids = rows.map(() => `req_${nonce('oncall')}`);
    await env.DB.batch(
      rows.map((row, i) =>
        env.DB.prepare(
          `INSERT INTO requests (id, ts, tenant_id, key_id, endpoint, model, provider, tier, status, latency_ms, attempts)
           VALUES (?, ?, 'ten_oncall', 'key_oncall', 'chat', ?, 'mock', 'cheap', ?, ?, 1)`,
        ).bind(ids[i], ts, model, row.status, row.latency),
      ),
    );
    return ids;
  }
  const many = (n: number, status: number, latency: number) => Array.from({ length: n }, () => ({ status, latency }));

  it('fires once when a model goes over ALERT_ERROR_RATE or ALERT_P95_MS, not again while it stays over, and says when it recovers', async () => {
    const channel = nonce('oncall');
    const vars = { ALERT_WEBHOOK_URL: webhookUrl(channel), ALERT_ERROR_RATE: '0.2', ALERT_P95_MS: '1000' };
    const failing = `mock/failing-${nonce()}`;
    const slow = `mock/slow-${nonce()}`;
    const quiet = `mock/quiet-${nonce()}`;
    const t1 = Date.now();
    // failing: 10 of 25 calls failed, and 5 of the successes were retries after a failed attempt: 15 of 30 attempts.
    const ok = await seedCalls(failing, t1 - 5 * MINUTE, [...many(10, 503, 100), ...many(15, 200, 100)]);
    await env.DB.batch(
      ok.slice(-5).map((id) =>
        env.DB.prepare(
          `INSERT INTO request_attempts (request_id, attempt, ts, tenant_id, model, provider, tier, status, error_message, latency_ms)
           VALUES (?, 1, ?, 'ten_oncall', ?, 'mock', 'cheap', 502, 'bad gateway', 50)`,
        ).bind(id, t1 - 5 * MINUTE, failing),
      ),
    );
    await seedCalls(slow, t1 - 5 * MINUTE, many(ONCALL_MIN_SAMPLES, 200, 3000));
    // Too few calls to judge, however bad.
    await seedCalls(quiet, t1 - 5 * MINUTE, many(ONCALL_MIN_SAMPLES - 1, 503, 5000));

    await runCron(t1, vars);
    await runCron(t1 + MINUTE, vars);
    const fired = payloads(await webhookPosts(channel)).map((p) => p.alert as UpstreamAlert);
    expect(fired.map((a) => `${a.kind} ${a.model} ${a.state}`).sort()).toEqual([`error_rate ${failing} firing`, `latency_p95 ${slow} firing`].sort());
    expect(fired.find((a) => a.kind === 'error_rate')).toMatchObject({ provider: 'mock', value: 0.5, threshold: 0.2, samples: 30 });
    expect(fired.find((a) => a.kind === 'latency_p95')!.value).toBeGreaterThanOrEqual(3000);

    // Ten minutes on, both are healthy again: one resolved message each, then quiet.
    const t2 = t1 + 15 * MINUTE;
    await seedCalls(failing, t2 - 5 * MINUTE, many(ONCALL_MIN_SAMPLES, 200, 100));
    await seedCalls(slow, t2 - 5 * MINUTE, many(ONCALL_MIN_SAMPLES, 200, 50));
    await runCron(t2, vars);
    await runCron(t2 + MINUTE, vars);
    const all = payloads(await webhookPosts(channel));
    expect(all).toHaveLength(4);
    expect(
      all
        .slice(2)
        .map((p) => `${p.alert.kind} ${p.alert.state}`)
        .sort(),
    ).toEqual(['error_rate resolved', 'latency_p95 resolved']);
    expect(all[2].text).toMatch(/^:white_check_mark: Resolved/);

    const history = await deliveries('kind=error_rate');
    expect(history.data.filter((d) => d.subject === failing).map((d) => `${d.state} ${d.destination} ${d.status}`)).toEqual([
      'resolved operator delivered',
      'firing operator delivered',
    ]);
  });
});
