/**
 * The attribute rollups (migrations/0023_attribute_rollups.sql): per hour and day, tenant and
 * each end user, API key and tag value, the counters of the calls that have it. The rollup job
 * (rollup.ts) rebuilds them with rollup_hourly and rollup_daily, whole hours and days in the
 * same transaction, inside D1; aggregate-query.ts reads them for the part of a report by user,
 * key or tag whose raw rows are purged.
 *
 * Only the calls that have a value get rows: the calls with no user, or without a tag, are the
 * tenant's rollup row less the dimension's rows (attributeRowsSql), so no tag key needs to be
 * known in advance and the groups still add up to the rows exactly.
 */
import { COUNTERS, RAW_COUNTER_SQL, type Attribute } from './aggregate';
import { DAY_MS, HOUR_MS } from './segments';

export type AttributeTable = 'rollup_attribute_hourly' | 'rollup_attribute_daily';

/** An attribute's `dimension` in the tables: `user`, `key` or `tag:<key>`. */
const dimensionValue = (attribute: Attribute) => (attribute === 'key_id' ? 'key' : attribute);

const KEY = 'dimension, bucket_start, tenant_id, value';
const insertInto = (table: AttributeTable) => `INSERT INTO ${table} (${KEY}, ${COUNTERS.join(', ')})`;
const SUMS = COUNTERS.map((c) => `SUM(${c})`).join(', ');
const RAW_COUNTERS = COUNTERS.map((c) => `${RAW_COUNTER_SQL[c]} AS ${c}`).join(', ');
const HOUR_OF = `(ts / ${HOUR_MS}) * ${HOUR_MS}`;
const RAW = 'requests.ts >= ?1 AND requests.ts < ?2';

/** Replaces the hours of [?1, ?2) with the raw rows' sums per tenant, user, key and tag value. */
export const ATTRIBUTE_HOURLY_FROM_RAW_SQL = [
  'DELETE FROM rollup_attribute_hourly WHERE bucket_start >= ?1 AND bucket_start < ?2',
  `${insertInto('rollup_attribute_hourly')}
  SELECT dimension, bucket_start, tenant_id, value, ${SUMS} FROM (
    SELECT 'user' AS dimension, ${HOUR_OF} AS bucket_start, tenant_id, user AS value, ${RAW_COUNTERS} FROM requests WHERE ${RAW} AND user IS NOT NULL
    UNION ALL SELECT 'key', ${HOUR_OF}, tenant_id, key_id, ${RAW_COUNTERS} FROM requests WHERE ${RAW}
    UNION ALL SELECT 'tag:' || tag.key, ${HOUR_OF}, tenant_id, tag.value, ${RAW_COUNTERS} FROM requests, json_each(requests.tags) AS tag WHERE ${RAW} AND requests.tags IS NOT NULL
  ) GROUP BY ${KEY}`,
];

/** Replaces the days of [?1, ?2) with the sums of their hourly rows. */
export const ATTRIBUTE_DAILY_FROM_HOURLY_SQL = [
  'DELETE FROM rollup_attribute_daily WHERE bucket_start >= ?1 AND bucket_start < ?2',
  `${insertInto('rollup_attribute_daily')}
  SELECT dimension, (bucket_start / ${DAY_MS}) * ${DAY_MS}, tenant_id, value, ${SUMS}
  FROM rollup_attribute_hourly WHERE bucket_start >= ?1 AND bucket_start < ?2 GROUP BY 1, 2, 3, 4`,
];

/**
 * A table expression of the attribute rollup rows of [start, end), with its parameters: columns
 * bucket_start, tenant_id, attribute and the counters. With `value`, the rows of that value only.
 * Without it, every group: the dimension's rows, and one more of attribute NULL per tenant and
 * bucket, the calls without it, as the tenant's rollup row (rollup_hourly or rollup_daily) plus
 * the dimension's rows negated.
 */
export function attributeRows(
  table: AttributeTable,
  attribute: Attribute,
  window: { start: number; end: number; tenant?: string; value?: string },
): { sql: string; params: unknown[] } {
  const tenant = window.tenant === undefined ? [] : [window.tenant];
  const where = `bucket_start >= ? AND bucket_start < ?${tenant.length ? ' AND tenant_id = ?' : ''}`;
  const params = [window.start, window.end, ...tenant];
  const counters = (sign: '' | '-') => COUNTERS.map((c) => `${sign}${c} AS ${c}`).join(', ');
  const rows = `SELECT bucket_start, tenant_id, value AS attribute, ${counters('')} FROM ${table} WHERE dimension = ? AND ${where}`;
  const dimension = dimensionValue(attribute);
  if (window.value !== undefined) return { sql: `(${rows} AND value = ?)`, params: [dimension, ...params, window.value] };
  const totals = table === 'rollup_attribute_hourly' ? 'rollup_hourly' : 'rollup_daily';
  return {
    sql: `(${rows}
    UNION ALL SELECT bucket_start, tenant_id, NULL, ${counters('')} FROM ${totals} WHERE dims = 'tenant' AND ${where}
    UNION ALL SELECT bucket_start, tenant_id, NULL, ${counters('-')} FROM ${table} WHERE dimension = ? AND ${where})`,
    params: [dimension, ...params, ...params, dimension, ...params],
  };
}
