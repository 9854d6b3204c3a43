/**
 * The R2 archive of raw rows: hours archived by the cron's job once rolled up, checked against
 * the rollups, purged from D1 only once archived, and read back by the admin API exactly as D1
 * served them; an hour that receives late rows is archived again; the finance CSV of a purged
 * month is what it was.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { analyticsState } from '../../analytics/aggregate';
import { archiveKey } from '../../analytics/archive';
import { runRollup, type RollupReport } from '../../analytics/rollup';
import { DAY_MS, HOUR_MS } from '../../analytics/segments';
import type { ArchiveCheck, ArchivedCall, RequestDetail, RequestLogPage, StoredRequestRow, Storage } from '../../analytics/types';
import type { Env } from '../../proxy/core/env';
import { newRequestId } from '../../proxy/core/ids';
import { readNdjsonGzip } from '../../proxy/core/ndjson-gzip';
import type { RequestRecord } from '../../proxy/core/request-record';
import { writeRequestLog } from '../../proxy/request-log/writer';
import { callRecord } from './analytics-helpers';
import { callAdmin, env } from './harness';

const NOW = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
const ROLLED_AT = NOW + 5 * 60_000;
/** A whole UTC day older than the raw retention (35 days), and one within it. */
const OLD_DAY = Math.floor((NOW - 37 * DAY_MS) / DAY_MS) * DAY_MS;
const RECENT_DAY = Math.floor((NOW - 3 * DAY_MS) / DAY_MS) * DAY_MS;
const oldWindow = { from: OLD_DAY, to: OLD_DAY + DAY_MS };
const OLD_MONTH = { from: Date.UTC(new Date(OLD_DAY).getUTCFullYear(), new Date(OLD_DAY).getUTCMonth(), 1) };
const oldMonth = { ...OLD_MONTH, to: Date.UTC(new Date(OLD_DAY).getUTCFullYear(), new Date(OLD_DAY).getUTCMonth() + 1, 1) };

/** Two or three calls an hour, of two tenants, some failed, one with failed attempts and stored content. */
function dayOfCalls(day: number): RequestRecord[] {
  return Array.from({ length: 24 * 3 }, (_, i) => {
    const hour = Math.floor(i / 3);
    if (i % 3 === 2 && hour % 2) return null;
    const ts = day + hour * HOUR_MS + (i % 3) * 7 * 60_000 + 1234;
    return callRecord({
      id: newRequestId(ts),
      ts,
      tenantId: hour % 3 ? 'ten_a' : 'ten_b',
      status: i % 5 === 0 ? 503 : 200,
      costNano: 1_000_000 + i * 777,
      ...(i === 10
        ? {
            attempts: 2,
            failedAttempts: [
              {
                attempt: 1,
                ts: day + hour * HOUR_MS,
                model: 'mock/mock-large',
                provider: 'mock',
                tier: 'expensive',
                status: 503,
                errorType: 'upstream_error',
                errorMessage: 'busy',
                latencyMs: 12,
              },
            ],
            content: { request: '{"messages":[{"role":"user","content":"hello"}]}', response: '{"choices":[]}', truncated: false },
          }
        : {}),
    });
  }).filter((r): r is RequestRecord => r !== null);
}

const oldCalls = dayOfCalls(OLD_DAY);
const recentCalls = dayOfCalls(RECENT_DAY);
/** The old call with failed attempts and stored content, and a plain one. */
const [withAttemptsId, plainId] = [oldCalls.find((r) => r.attempts === 2)!.id, oldCalls[1].id];

const iso = (t: number) => new Date(t).toISOString();
const json = async <T>(path: string) => {
  const call = await callAdmin(path);
  expect(call.response.status, path).toBe(200);
  return (await call.response.json()) as T;
};
/** Every page of GET /admin/requests for `query`, following next_cursor. */
async function allPages(query: string): Promise<RequestLogPage[]> {
  const pages: RequestLogPage[] = [];
  let cursor: string | null = null;
  do {
    pages.push(await json<RequestLogPage>(`/admin/requests?${query}${cursor ? `&cursor=${cursor}` : ''}`));
    cursor = pages.at(-1)!.next_cursor;
  } while (cursor);
  return pages;
}
const rowsOf = (pages: RequestLogPage[]) => pages.flatMap((p) => p.data);
const QUERIES = [
  `from=${iso(OLD_DAY)}&to=${iso(NOW)}&limit=7`,
  `from=${iso(OLD_DAY + 5 * HOUR_MS)}&to=${iso(OLD_DAY + 17 * HOUR_MS + 60_000)}&limit=500`,
  `from=${iso(OLD_DAY)}&to=${iso(NOW)}&tenant=ten_b&status=error&limit=3`,
  `from=${iso(OLD_DAY)}&to=${iso(NOW)}&model=mock/mock-mini&status=200&limit=50`,
];

/** The deployment's R2 bucket with puts failing, as during an R2 outage. */
function failingPuts(bucket: R2Bucket): R2Bucket {
  return {
    put: () => Promise.reject(new Error('R2 is unavailable (injected by the test)')),
    get: (key: string) => bucket.get(key),
    list: (options?: R2ListOptions) => bucket.list(options),
  } as unknown as R2Bucket;
}

const rawRows = async (window: { from: number; to: number }) =>
  (await env.DB.prepare('SELECT * FROM requests WHERE ts >= ? AND ts < ? ORDER BY ts, id').bind(window.from, window.to).all<StoredRequestRow>()).results;

let before: { pages: RequestLogPage[][]; details: RequestDetail[]; csv: string; rows: StoredRequestRow[] };

beforeAll(async () => {
  for (const record of [...oldCalls, ...recentCalls]) await writeRequestLog(env, record);
  // Nothing is rolled up, archived or purged yet: what D1 alone answers.
  before = {
    pages: await Promise.all(QUERIES.map(allPages)),
    details: await Promise.all([withAttemptsId, plainId].map((id) => json<RequestDetail>(`/admin/requests/${id}`))),
    csv: await (await callAdmin(`/admin/export.csv?from=${iso(oldMonth.from)}&to=${iso(oldMonth.to)}`)).response.text(),
    rows: await rawRows(oldWindow),
  };
});

async function catchUp(runEnv: Env): Promise<RollupReport[]> {
  const reports: RollupReport[] = [];
  do reports.push(await runRollup(runEnv, ROLLED_AT));
  while (reports.at(-1)!.rolledUntil < NOW || reports.at(-1)!.archive!.archivedUntil < NOW || reports.at(-1)!.purged > 0);
  return reports;
}

describe('the archive of raw rows in R2', () => {
  it('purges nothing while R2 refuses the archive: raw rows wait for it', async () => {
    const report = await runRollup({ ...env, ARCHIVE: failingPuts(env.ARCHIVE!) }, ROLLED_AT);
    expect(report.archive?.error).toContain('R2 is unavailable');
    expect(report.purged).toBe(0);
    expect(await rawRows(oldWindow)).toHaveLength(oldCalls.length);
  });

  // 37 days of hours, 24 a run: the cron's catch-up on a deployment that had none.
  it('archives each finished hour once rolled up, then purges the old ones from D1', { timeout: 60_000 }, async () => {
    const reports = await catchUp(env);
    expect(reports.reduce((n, r) => n + r.purged, 0)).toBe(oldCalls.length);
    expect(await rawRows(oldWindow)).toEqual([]);
    expect((await analyticsState(env.DB)).rawFrom).toBe(Math.floor((ROLLED_AT - 35 * DAY_MS) / HOUR_MS) * HOUR_MS);
    expect(await rawRows({ from: RECENT_DAY, to: RECENT_DAY + DAY_MS })).toHaveLength(recentCalls.length);
  });

  it('keeps every column, failed attempt and stored content of each call in its hour object, with its count and cost recorded', async () => {
    const hour = OLD_DAY + 3 * HOUR_MS;
    const object = await env.ARCHIVE!.get(archiveKey(hour));
    expect(archiveKey(hour)).toMatch(/^requests\/v1\/\d{4}\/\d{2}\/\d{2}\/03\.ndjson\.gz$/);
    const calls = await readNdjsonGzip<ArchivedCall>(object!.body);
    const expected = before.rows.filter((r) => r.ts >= hour && r.ts < hour + HOUR_MS);
    expect(calls.map(({ failed_attempts, content, ...row }) => row)).toEqual(expected);
    const withAttempts = calls.find((c) => c.id === withAttemptsId)!;
    expect(withAttempts.failed_attempts).toMatchObject([{ attempt: 1, status: 503, error_message: 'busy', request_id: withAttemptsId }]);
    expect(withAttempts.content).toEqual({ request: '{"messages":[{"role":"user","content":"hello"}]}', response: '{"choices":[]}', truncated: 0 });

    const recorded = await env.DB.prepare('SELECT * FROM request_archive WHERE hour = ?').bind(hour).first();
    expect(recorded).toMatchObject({
      object_key: archiveKey(hour),
      rows: expected.length,
      cost_nano: expected.reduce((sum, r) => sum + r.cost_nano, 0),
      bytes: object!.size,
      stale: 0,
    });
    // Every hour is recorded, those without calls too (no object).
    const day = await env.DB.prepare(
      'SELECT COUNT(*) AS hours, SUM(rows) AS rows, SUM(object_key IS NULL) AS empty FROM request_archive WHERE hour >= ? AND hour < ?',
    )
      .bind(OLD_DAY, OLD_DAY + DAY_MS)
      .first();
    expect(day).toEqual({ hours: 24, rows: oldCalls.length, empty: 0 });
  });

  it('matches the rollups: the same calls and cost, day by day', async () => {
    const check = await json<ArchiveCheck>('/admin/archive');
    const old = check.data.find((d) => d.day === iso(OLD_DAY).slice(0, 10))!;
    expect(old).toEqual({
      day: iso(OLD_DAY).slice(0, 10),
      archived_hours: 24,
      archived_requests: oldCalls.length,
      archived_cost_nano: oldCalls.reduce((sum, r) => sum + r.costNano, 0),
      rollup_requests: oldCalls.length,
      rollup_cost_nano: oldCalls.reduce((sum, r) => sum + r.costNano, 0),
      matches: true,
    });
    // Every whole day archived matches; today is not whole yet.
    const today = iso(Math.floor(NOW / DAY_MS) * DAY_MS).slice(0, 10);
    expect(check.data.filter((d) => d.day < today).every((d) => d.matches)).toBe(true);
  });

  it('serves the request log across D1 and the archive as D1 served it: same rows, same order, same filters', async () => {
    const after = await Promise.all(QUERIES.map(allPages));
    for (const [i, query] of QUERIES.entries()) expect(rowsOf(after[i]), query).toEqual(rowsOf(before.pages[i]));
    // Unfiltered pages are filled from the archive as from D1: the same pages, cursor for cursor.
    expect(after[0]).toEqual(before.pages[0]);
    expect(rowsOf(after[0]).length).toBe(oldCalls.length + recentCalls.length);
  });

  it('finds an archived call by its id (which carries its time), with its failed attempts and stored content', async () => {
    for (const detail of before.details) expect(await json<RequestDetail>(`/admin/requests/${detail.id}`)).toEqual(detail);
    // An id without a time (made before ids had one) is found only while its call is in D1.
    await writeRequestLog(env, callRecord({ id: 'req_without_time', ts: OLD_DAY + HOUR_MS }));
    expect((await callAdmin('/admin/requests/req_without_time')).response.status).toBe(200);
    expect(before.details[0].failed_attempts).toHaveLength(1);
    expect(before.details[0].content).not.toBeNull();
  });

  it('exports the same finance CSV for a month whose raw rows are purged', async () => {
    const csv = await (await callAdmin(`/admin/export.csv?from=${iso(oldMonth.from)}&to=${iso(oldMonth.to)}`)).response.text();
    expect(before.csv.split('\n').length).toBeGreaterThan(2);
    expect(csv).toEqual(before.csv);
  });

  it('archives an hour again, replacing its object, when late rows come for it', async () => {
    const hour = RECENT_DAY + 6 * HOUR_MS;
    const late = callRecord({ id: newRequestId(hour + 59 * 60_000), ts: hour + 59 * 60_000, costNano: 4_242 });
    await writeRequestLog(env, late);
    expect(await env.DB.prepare('SELECT stale FROM request_archive WHERE hour = ?').bind(hour).first()).toEqual({ stale: 0 });
    const report = await runRollup(env, ROLLED_AT);
    expect(report).toMatchObject({ lateHours: 1, archive: { archived: 0, rearchived: 1 } });

    const calls = await readNdjsonGzip<ArchivedCall>((await env.ARCHIVE!.get(archiveKey(hour)))!.body);
    const expected = recentCalls.filter((r) => r.ts >= hour && r.ts < hour + HOUR_MS);
    expect(calls.map((c) => c.id)).toEqual([...expected.map((r) => r.id), late.id]);
    expect(await env.DB.prepare('SELECT rows, cost_nano, stale FROM request_archive WHERE hour = ?').bind(hour).first()).toEqual({
      rows: expected.length + 1,
      cost_nano: expected.reduce((sum, r) => sum + r.costNano, 0) + late.costNano,
      stale: 0,
    });
    const check = await json<ArchiveCheck>('/admin/archive');
    expect(check.data.find((d) => d.day === iso(RECENT_DAY).slice(0, 10))).toMatchObject({
      archived_requests: recentCalls.length + 1,
      rollup_requests: recentCalls.length + 1,
      matches: true,
    });
    // Archiving again is idempotent: the next run has nothing to do.
    expect((await runRollup(env, ROLLED_AT)).archive).toMatchObject({ archived: 0, rearchived: 0 });
  });

  it('says where the archive stands in /health and GET /admin/storage', async () => {
    const storage = await json<Storage>('/admin/storage');
    expect(storage.archive).toEqual({ enabled: true, archived_until: iso(NOW), backlog_hours: 0, stale_hours: 0 });
    expect(storage.warnings).toEqual([]);
  });
});
