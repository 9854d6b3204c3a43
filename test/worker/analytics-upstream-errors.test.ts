/**
 * Upstream errors apart from the proxy's own refusals, from rows the proxy really writes: a
 * tenant over its rpm or budget, a bad request, an upstream failing after retries, an upstream
 * 429 passed on, a fallback that answered, a cache hit and a client that left. Only the calls
 * that reached an upstream and failed are the upstream's errors.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { runRollup } from '../../analytics/rollup';
import { HOUR_MS } from '../../analytics/segments';
import { breakdown, summary } from '../../analytics/summary';
import { timeseries } from '../../analytics/timeseries';
import type { GroupSummary } from '../../analytics/types';
import { createTestTenant, loggedRow } from './fixtures';
import { callAdmin, env, nonce, postJson, upstreamEnv } from './harness';

const FALLBACK = 'anthropic/claude-haiku-4-5';

async function chat(apiKey: string, body: Record<string, unknown>, envOverrides: Record<string, string> = {}) {
  const call = await postJson(
    '/v1/chat/completions',
    { model: 'openai/gpt-4o-mini', ...body },
    { apiKey, env: { ...upstreamEnv(), FALLBACK_MODEL: 'none', ...envOverrides } },
  );
  const text = await call.response.text();
  await call.settled();
  return { status: call.response.status, text, row: await loggedRow(call.response.headers.get('x-request-id')) };
}
const say = (content: string, extra: Record<string, unknown> = {}) => ({ messages: [{ role: 'user', content }], ...extra });

let from: number;
let to: number;
const outcomes: Record<string, { status: number; attempts: number | undefined; model: string | null | undefined }> = {};

beforeAll(async () => {
  from = Date.now() - 1000;
  const limited = await createTestTenant({ rpm: 1 });
  const broke = await createTestTenant({ monthly_budget_usd: 0 });
  const main = await createTestTenant();
  const note = (name: string, call: Awaited<ReturnType<typeof chat>>) =>
    (outcomes[name] = { status: call.status, attempts: call.row?.attempts, model: call.row?.model });

  note('limitAdmitted', await chat(limited.apiKey, say(nonce())));
  note('limitRefused', await chat(limited.apiKey, say(nonce())));
  note('budgetRefused', await chat(broke.apiKey, say(nonce())));
  note('badRequest', await chat(main.apiKey, { model: 'openai/gpt-4o-mini', messages: 'not a list' }));
  note('upstream502', await chat(main.apiKey, say(`upstream:status=502 ${nonce()}`)));
  note('upstream429', await chat(main.apiKey, say(`upstream:status=429 upstream:retry-after=3600 ${nonce()}`)));
  note(
    'fallback',
    await chat(main.apiKey, say(`upstream:if-model=gpt-4o-mini:status=503 ${nonce()}`), { UPSTREAM_MAX_RETRIES: '1', FALLBACK_MODEL: FALLBACK }),
  );
  const cacheable = say(`What is 2+2? ${nonce()}`, { temperature: 0 });
  note('cacheMiss', await chat(main.apiKey, cacheable));
  note('cacheHit', await chat(main.apiKey, cacheable));

  // A stream the client abandons once the upstream has started: 499.
  const abandoned = await postJson(
    '/v1/chat/completions',
    { model: 'openai/gpt-4o-mini', stream: true, ...say(`upstream:hang ${nonce()}`) },
    // The upstream never ends: the meter gives up on it at once.
    { apiKey: main.apiKey, env: { ...upstreamEnv(), UPSTREAM_ABANDONED_METER_MS: '0' } },
  );
  const reader = abandoned.response.body!.getReader();
  await reader.read();
  await reader.cancel();
  await abandoned.settled();
  const gone = await loggedRow(abandoned.response.headers.get('x-request-id'));
  outcomes.clientGone = { status: gone!.status, attempts: gone!.attempts, model: gone!.model };
  to = Date.now() + 1000;
});

describe('upstream errors from the rows the proxy writes', () => {
  it('records upstream attempts only for calls that reached an upstream', () => {
    expect(outcomes).toEqual({
      limitAdmitted: { status: 200, attempts: 1, model: 'openai/gpt-4o-mini' },
      // Routed, then refused by the proxy: the row names the model, no upstream saw it.
      limitRefused: { status: 429, attempts: 0, model: 'openai/gpt-4o-mini' },
      budgetRefused: { status: 429, attempts: 0, model: 'openai/gpt-4o-mini' },
      badRequest: { status: 400, attempts: 0, model: null },
      // The first try and two retries.
      upstream502: { status: 502, attempts: 3, model: 'openai/gpt-4o-mini' },
      // A retry-after of an hour is not waited for; with no fallback the 429 is passed on.
      upstream429: { status: 429, attempts: 1, model: 'openai/gpt-4o-mini' },
      // Two failed tries of the openai model, then the fallback answered: a 200 of the fallback.
      fallback: { status: 200, attempts: 3, model: FALLBACK },
      cacheMiss: { status: 200, attempts: 1, model: 'openai/gpt-4o-mini' },
      cacheHit: { status: 200, attempts: 0, model: 'openai/gpt-4o-mini' },
      clientGone: { status: 499, attempts: 1, model: 'openai/gpt-4o-mini' },
    });
  });

  it("counts as the provider's errors only the calls its upstream failed", async () => {
    const scope = { from, to };
    const whole = await summary(env.DB, scope);
    expect(whole).toMatchObject({ requests: 10, errors: 6, upstream_calls: 6, upstream_errors: 2, upstream_error_rate: 2 / 6 });

    const byProvider = Object.fromEntries((await breakdown(env.DB, scope, 'provider')).data.map((g) => [g.key, g]));
    const counts = (g: GroupSummary | undefined) => g && [g.requests, g.errors, g.upstream_calls, g.upstream_errors, g.upstream_error_rate];
    // openai: 8 calls, 5 errors (two refusals, the 502, the 429, the 499), of which 2 are its own, out of 5 it got.
    expect(counts(byProvider.openai)).toEqual([8, 5, 5, 2, 2 / 5]);
    expect(counts(byProvider.anthropic)).toEqual([1, 0, 1, 0, 0]);
    expect(counts(byProvider['(none)'])).toEqual([1, 1, 0, 0, null]);

    // The admin API serves the same fields, in its documented shape.
    const query = `from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`;
    const api = (await (await callAdmin(`/admin/analytics/breakdown?${query}&group_by=provider`)).response.json()) as { data: GroupSummary[] };
    expect(counts(api.data.find((g) => g.key === 'openai'))).toEqual([8, 5, 5, 2, 2 / 5]);
    const series = (await (await callAdmin(`/admin/analytics/timeseries?${query}&interval=minute&group_by=provider`)).response.json()) as {
      series: { key: string; points: { upstream_errors: number; upstream_calls: number }[] }[];
    };
    const openaiPoints = series.series.find((s) => s.key === 'openai')!.points;
    expect(openaiPoints.reduce((t, p) => t + p.upstream_errors, 0)).toBe(2);
    expect(openaiPoints.reduce((t, p) => t + p.upstream_calls, 0)).toBe(5);
  });

  it('answers the same once the hour is rolled up', async () => {
    const hours = { from: Math.floor(from / HOUR_MS) * HOUR_MS, to: Math.ceil(to / HOUR_MS) * HOUR_MS };
    const raw = await Promise.all([summary(env.DB, hours), breakdown(env.DB, hours, 'provider'), timeseries(env.DB, hours, 'hour', 'provider')]);
    const report = await runRollup(env, hours.to + 5 * 60_000);
    expect(report.rolledUntil).toBe(hours.to);
    expect(await Promise.all([summary(env.DB, hours), breakdown(env.DB, hours, 'provider'), timeseries(env.DB, hours, 'hour', 'provider')])).toEqual(raw);
  });
});
