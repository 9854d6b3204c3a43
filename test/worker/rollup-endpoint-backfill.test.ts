/**
 * Migration 0012 applied to a database as it was before it: the rollup tables are rebuilt with an
 * endpoint column, every rolled-up hour and day gets the endpoint projections as one group whose
 * endpoint is not known ('(unknown)'), so reports grouped by endpoint add up from the start, and
 * every hour whose raw rows are kept is marked late, so the cron runs rebuild them (newest first)
 * with their real endpoints. Hours older than the raw retention keep the unknown group.
 *
 * The database before 0012 is made for real: the tables are dropped, migrations 0001–0011 are
 * applied, and the raw rows and rollups the current job wrote (less what 0012 adds) are put back.
 */
import { applyD1Migrations } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyticsState } from '../../analytics/aggregate';
import { spendCsv } from '../../analytics/finance';
import { runRollup, type RollupReport } from '../../analytics/rollup';
import { DAY_MS, HOUR_MS } from '../../analytics/segments';
import { breakdown, summary } from '../../analytics/summary';
import { timeseries } from '../../analytics/timeseries';
import type { RequestRecord } from '../../proxy/core/request-record';
import { writeRequestLog } from '../../proxy/request-log/writer';
import { callRecord, rawOnly } from './analytics-helpers';
import { env } from './harness';

const NOW = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
const ROLLED_AT = NOW + 5 * 60_000;
const MIDNIGHT = Math.floor(NOW / DAY_MS) * DAY_MS;
/** Three whole days inside the raw retention, and one beyond it (35 days by default). */
const recent = { from: MIDNIGHT - 3 * DAY_MS, to: MIDNIGHT };
const yesterday = { from: MIDNIGHT - DAY_MS, to: MIDNIGHT };
const OLD_DAY = MIDNIGHT - 40 * DAY_MS;
const oldDay = { from: OLD_DAY, to: OLD_DAY + DAY_MS };

/** Per hour, as before 0012 (chat and embeddings only, no reasoning): a chat call, an embeddings call, and every third hour a failed chat call. */
function hourOfCalls(start: number, prefix: string, i: number): RequestRecord[] {
  const ts = start + i * HOUR_MS + 7 * 60_000;
  const tenantId = i % 2 ? 'ten_a' : 'ten_b';
  return [
    callRecord({
      id: `req_${prefix}_chat_${i}`,
      ts,
      tenantId,
      costNano: 1_000_000 + i,
      latencyMs: 200 + 13 * i,
      stream: i % 4 === 0,
      ttftMs: i % 4 ? null : 50 + i,
    }),
    callRecord({
      id: `req_${prefix}_embed_${i}`,
      ts: ts + 60_000,
      tenantId,
      endpoint: 'embeddings',
      model: 'mock/mock-embed',
      usage: { promptTokens: 40 + i, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0 },
      costNano: 800 + i,
      latencyMs: 30 + i,
    }),
    ...(i % 3
      ? []
      : [
          callRecord({
            id: `req_${prefix}_failed_${i}`,
            ts: ts + 2 * 60_000,
            tenantId: 'ten_c',
            status: 502,
            errorType: 'upstream_error',
            attempts: 3,
            costNano: 0,
            usage: { promptTokens: 30, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0 },
          }),
        ]),
  ];
}
const records = [
  ...Array.from({ length: 24 }, (_, i) => hourOfCalls(OLD_DAY, 'old', i)).flat(),
  ...Array.from({ length: 72 }, (_, i) => hourOfCalls(recent.from, 'recent', i)).flat(),
];

/** Reports by endpoint: all tenants, one tenant, and the CSV (per day, tenant, model and endpoint). */
const endpointViews = (window: { from: number; to: number }) =>
  Promise.all([
    breakdown(env.DB, window, 'endpoint'),
    timeseries(env.DB, window, 'hour', 'endpoint'),
    timeseries(env.DB, window, 'day', 'endpoint'),
    breakdown(env.DB, { ...window, tenant: 'ten_a' }, 'endpoint'),
    timeseries(env.DB, { ...window, tenant: 'ten_b' }, 'day', 'endpoint'),
    spendCsv(env.DB, window),
  ]);
/** Reports that read the projections 0012 found. */
const otherViews = (window: { from: number; to: number }) =>
  Promise.all([
    summary(env.DB, window),
    breakdown(env.DB, window, 'model'),
    breakdown(env.DB, window, 'provider'),
    timeseries(env.DB, window, 'day', 'tenant'),
    timeseries(env.DB, { ...window, tenant: 'ten_a' }, 'hour', 'tier'),
  ]);

const ROLLUP_TABLES = ['rollup_hourly', 'rollup_daily', 'rollup_hourly_histograms', 'rollup_daily_histograms'] as const;
const NEW_PROJECTIONS = ['endpoint', 'tenant+endpoint', 'tenant+model+endpoint'];

type Row = Record<string, unknown>;
const all = async (sql: string, ...params: unknown[]) =>
  (
    await env.DB.prepare(sql)
      .bind(...params)
      .all<Row>()
  ).results;
const sorted = (rows: Row[]) => rows.map((r) => JSON.stringify(r)).sort();
const lateHours = async () => (await all('SELECT bucket_start FROM rollup_late_hours ORDER BY 1')).map((r) => r.bucket_start as number);

async function catchUp(): Promise<void> {
  let report: RollupReport;
  do report = await runRollup(env, ROLLED_AT);
  while (report.rolledUntil < NOW);
}

/**
 * Inserts rows (objects) into `table`, as JSON through json_each, a few hundred at a time: the
 * columns the table has, so those added by 0012 (and later migrations) are left out.
 */
async function insertRows(table: string, rows: Row[]): Promise<void> {
  if (rows.length === 0) return;
  const has = new Set((await all(`SELECT name FROM pragma_table_info('${table}')`)).map((r) => r.name as string));
  const columns = Object.keys(rows[0]).filter((c) => has.has(c));
  const sql = `INSERT INTO ${table} (${columns.join(', ')}) SELECT ${columns.map((c) => `json_extract(value, '$.${c}')`).join(', ')} FROM json_each(?)`;
  for (let i = 0; i < rows.length; i += 300)
    await env.DB.prepare(sql)
      .bind(JSON.stringify(rows.slice(i, i + 300)))
      .run();
}

/** Drops every table, then applies the migrations before 0012: the schema the migration was written for. */
async function schemaBefore0012(): Promise<void> {
  const tables = (await all("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'")).map(
    (r) => r.name as string,
  );
  // Keys before the tenants they belong to.
  tables.sort((a, b) => Number(b === 'api_keys') - Number(a === 'api_keys'));
  await env.DB.batch(tables.map((name) => env.DB.prepare(`DROP TABLE ${name}`)));
  await applyD1Migrations(
    env.DB,
    env.TEST_MIGRATIONS.filter((m) => m.name < '0012'),
  );
  expect((await all("SELECT name FROM pragma_table_info('rollup_hourly')")).map((r) => r.name)).not.toContain('endpoint');
  expect((await all("SELECT name FROM pragma_table_info('requests')")).map((r) => r.name)).not.toContain('reasoning_tokens');
}

let reference: {
  endpoint: Awaited<ReturnType<typeof endpointViews>>;
  other: Awaited<ReturnType<typeof otherViews>>;
  oldOther: Awaited<ReturnType<typeof otherViews>>;
};
/** The rollup tables as the current job left them, which the backfill must reproduce. */
let tablesBefore: Record<string, Row[]>;
let rawFrom: number;

beforeAll(async () => {
  // The rollups the job built before 0012, from the calls of that time: the current job's rows of
  // the projections it had (the others are its rows less endpoint, and reasoning, which was 0).
  for (const record of records) await writeRequestLog(env, record);
  await catchUp();
  ({ rawFrom } = await analyticsState(env.DB));
  reference = { endpoint: await endpointViews(recent), other: await otherViews(recent), oldOther: await otherViews(oldDay) };
  tablesBefore = Object.fromEntries(await Promise.all(ROLLUP_TABLES.map(async (t) => [t, await all(`SELECT * FROM ${t}`)] as const)));
  const requests = await all('SELECT * FROM requests');
  // The state of that time: the attribute rollups' keys came with migration 0023, which sets them.
  const state = await all("SELECT * FROM analytics_state WHERE key NOT IN ('attributes_from', 'attribute_hourly_from')");

  await schemaBefore0012();
  // Raw rows first: with no rolled_until yet, the trigger marks none of them late.
  await insertRows('requests', requests);
  for (const table of ROLLUP_TABLES)
    await insertRows(
      table,
      tablesBefore[table].filter((r) => !NEW_PROJECTIONS.includes(r.dims as string)),
    );
  await insertRows('analytics_state', state);
  expect(await lateHours()).toEqual([]);

  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
});

describe('migration 0012 on rollups built before it', () => {
  it('adds reasoning_tokens to the request log (0 for the rows there) and keeps every rollup row and index', async () => {
    expect(await all('SELECT COUNT(*) AS n, SUM(reasoning_tokens) AS reasoning FROM requests')).toEqual([
      { n: records.filter((r) => r.ts >= rawFrom).length, reasoning: 0 },
    ]);
    for (const table of ROLLUP_TABLES) {
      // The rows 0012 found, with endpoint '*' (and reasoning 0): unchanged.
      const found = await all(`SELECT * FROM ${table} WHERE dims NOT IN ('endpoint', 'tenant+endpoint', 'tenant+model+endpoint')`);
      expect(sorted(found), table).toEqual(sorted(tablesBefore[table].filter((r) => !NEW_PROJECTIONS.includes(r.dims as string))));
    }
    const indexes = (await all("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'rollup_%' ORDER BY name")).map((r) => r.name);
    expect(indexes).toEqual(
      expect.arrayContaining(['rollup_daily_histograms_tenant', 'rollup_daily_tenant', 'rollup_hourly_histograms_tenant', 'rollup_hourly_tenant']),
    );
  });

  it('answers by endpoint at once, the calls of every hour not rebuilt yet as one unknown group, adding up to the rest', async () => {
    expect(await otherViews(recent)).toEqual(reference.other);
    expect(await otherViews(oldDay)).toEqual(reference.oldOther);
    const [whole] = reference.other;
    const { from: _from, to: _to, ...totals } = whole;
    expect((await breakdown(env.DB, recent, 'endpoint')).data).toEqual([{ key: '(unknown)', ...totals }]);
    const daily = await timeseries(env.DB, recent, 'day', 'endpoint');
    expect(daily.series.map((s) => s.key)).toEqual(['(unknown)']);
    expect(daily.series[0].points.map((p) => p.requests)).toEqual((await timeseries(env.DB, recent, 'day')).series[0].points.map((p) => p.requests));
    // The CSV's lines, with no endpoint named.
    const csv = (await spendCsv(env.DB, recent)).trim().split('\n').slice(1);
    expect(new Set(csv.map((line) => line.split(',')[4]))).toEqual(new Set(['']));
  });

  it('marks every hour whose raw rows are kept, and the cron runs rebuild them newest first, with their endpoints', async () => {
    const marked = await lateHours();
    expect(marked).toHaveLength(72);
    expect(marked.every((h) => h >= rawFrom && h >= recent.from)).toBe(true);

    // One run: the newest 24 hours (yesterday, a whole day, so its daily row too) are right.
    expect(await runRollup(env, ROLLED_AT)).toMatchObject({ hours: 0, lateHours: 24 });
    expect(await endpointViews(yesterday)).toEqual(await rawOnly(() => endpointViews(yesterday)));
    const partly = (await breakdown(env.DB, recent, 'endpoint')).data;
    expect(partly.map((g) => g.key).sort()).toEqual(['(unknown)', 'chat', 'embeddings']);
    expect(partly.reduce((t, g) => t + g.requests, 0)).toBe(reference.other[0].requests);
    expect(partly.reduce((t, g) => t + g.cost_nano, 0)).toBe(reference.other[0].cost_nano);

    // The next runs finish; the tables are as a rollup that had the endpoint from the start left them.
    expect((await runRollup(env, ROLLED_AT)).lateHours).toBe(24);
    expect((await runRollup(env, ROLLED_AT)).lateHours).toBe(24);
    expect(await lateHours()).toEqual([]);
    expect(await endpointViews(recent)).toEqual(reference.endpoint);
    expect(await otherViews(recent)).toEqual(reference.other);
    for (const table of ROLLUP_TABLES) {
      const rebuilt = await all(`SELECT * FROM ${table} WHERE bucket_start >= ?`, recent.from);
      expect(sorted(rebuilt), table).toEqual(sorted(tablesBefore[table].filter((r) => (r.bucket_start as number) >= recent.from)));
    }
  });

  it('keeps the unknown group for days older than the raw retention, equal to their totals, every other report as it was', async () => {
    expect(await otherViews(oldDay)).toEqual(reference.oldOther);
    const { from: _from, to: _to, ...totals } = reference.oldOther[0];
    expect(totals.requests).toBe(records.filter((r) => r.ts >= oldDay.from && r.ts < oldDay.to).length);
    expect((await breakdown(env.DB, oldDay, 'endpoint')).data).toEqual([{ key: '(unknown)', ...totals }]);
    const oneTenant = await breakdown(env.DB, { ...oldDay, tenant: 'ten_c' }, 'endpoint');
    expect(oneTenant.data.map((g) => [g.key, g.requests, g.errors])).toEqual([['(unknown)', 8, 8]]);
    // In the CSV, the model is known and the endpoint is not.
    const lines = (await spendCsv(env.DB, oldDay))
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(','));
    expect(new Set(lines.map((cells) => cells[3]))).toEqual(new Set(['mock/mock-mini', 'mock/mock-embed']));
    expect(new Set(lines.map((cells) => cells[4]))).toEqual(new Set(['']));
  });
});
