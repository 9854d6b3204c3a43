/** Helpers for the analytics and rollup tests: request-log rows, raw-only answers, the rollup tables. */
import { STATE_KEYS } from '../../analytics/aggregate';
import { env } from './harness';
import type { RequestRecord } from '../../proxy/core/request-record';

/** A successful, non-streamed call of the mock provider's cheap model; `fields` override. */
export function callRecord(fields: Partial<RequestRecord> & Pick<RequestRecord, 'id' | 'ts'>): RequestRecord {
  return {
    tenantId: 'ten_a',
    keyId: 'key_x',
    endpoint: 'chat',
    modelRequested: 'auto',
    model: 'mock/mock-mini',
    provider: 'mock',
    tier: 'cheap',
    routeReason: 'rule:default',
    status: 200,
    errorType: null,
    errorMessage: null,
    usage: { promptTokens: 100, completionTokens: 20, cachedTokens: 0, cacheWriteTokens: 0 },
    usageEstimated: false,
    costNano: 1_000_000,
    savedNano: 0,
    latencyMs: 250,
    ttftMs: null,
    stream: false,
    cache: 'BYPASS',
    attempts: 1,
    failedAttempts: [],
    ...fields,
  };
}

/**
 * `query`'s answer from raw rows only, as if nothing were rolled up: rolled_until is hidden
 * while it runs. The raw rows of the window must still be there (not purged).
 */
export async function rawOnly<T>(query: () => Promise<T>): Promise<T> {
  const row = await env.DB.prepare('SELECT value FROM analytics_state WHERE key = ?').bind(STATE_KEYS.rolledUntil).first<{ value: number }>();
  await env.DB.prepare('DELETE FROM analytics_state WHERE key = ?').bind(STATE_KEYS.rolledUntil).run();
  try {
    return await query();
  } finally {
    if (row) await env.DB.prepare('INSERT INTO analytics_state (key, value) VALUES (?, ?)').bind(STATE_KEYS.rolledUntil, row.value).run();
  }
}

const ROLLUP_TABLES = [
  'rollup_hourly',
  'rollup_hourly_histograms',
  'rollup_daily',
  'rollup_daily_histograms',
  'rollup_attribute_hourly',
  'rollup_attribute_daily',
  'rollup_late_hours',
  'analytics_state',
];

/** Every row of the rollup job's tables, in a stable order, to compare two states. */
export async function rollupTables(): Promise<Record<string, string[]>> {
  const dumps = await env.DB.batch(ROLLUP_TABLES.map((table) => env.DB.prepare(`SELECT * FROM ${table}`)));
  return Object.fromEntries(ROLLUP_TABLES.map((table, i) => [table, dumps[i].results.map((row) => JSON.stringify(row)).sort()]));
}
