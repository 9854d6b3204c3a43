/**
 * The attribute rollups (migrations/0023_attribute_rollups.sql): per hour and day, tenant and
 * each end user, API key and tag value, the counters of the calls that have it. Reports read them
 * only before raw_from (aggregate-query.ts): from raw_from on, raw rows answer. So the rollup job
 * (rollup.ts) builds them when raw rows leave the retention, not when hours are rolled up: the
 * transaction that moves raw_from past some hours first rolls those hours' raw rows up into
 * rollup_attribute_hourly, and every day they complete into rollup_attribute_daily. An hour is
 * built once, from raw rows that no late row can change any more (the purge waits for late hours),
 * and rows for calls still kept raw are never stored twice. Hourly rows are then kept only for a
 * short tail before raw_from (hour detail, and the days they complete); daily rows for
 * ATTRIBUTE_RETENTION_DAYS (rollup.ts prunes both).
 *
 * Only the calls that have a value get rows: the calls with no user, or without a tag, are the
 * tenant's rollup row less the dimension's rows (attributeRows), so no tag key needs to be
 * known in advance and the groups still add up to the rows exactly.
 */
import { COUNTERS, RAW_COUNTER_SQL, STATE_KEYS, type Attribute } from './aggregate';
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

/**
 * The statements, for one transaction, that move raw_from from `from` to `to` (hour boundaries)
 * and roll the raw rows of [from, to) up first: their hours into rollup_attribute_hourly, and the
 * days they complete (those ending in (from, to]) from their hourly rows into
 * rollup_attribute_daily. None takes effect if an hour of [from, to) waits to be rebuilt (a row
 * came late since the purge chose `to`): the rollup rows of the calls and their attribute rows
 * stay made of the same raw rows, and raw_from stays. The first statement's `changes` says
 * whether raw_from moved.
 */
export function attributeRollupStatements(db: D1Database, from: number, to: number): D1PreparedStatement[] {
  const moved = `(SELECT value FROM analytics_state WHERE key = '${STATE_KEYS.rawFrom}') = ?2`;
  const firstDay = Math.floor(from / DAY_MS) * DAY_MS;
  const lastDay = Math.floor(to / DAY_MS) * DAY_MS;
  return [
    db
      .prepare(
        `INSERT INTO analytics_state (key, value) SELECT '${STATE_KEYS.rawFrom}', ?2
        WHERE NOT EXISTS (SELECT 1 FROM rollup_late_hours WHERE bucket_start >= ?1 AND bucket_start < ?2)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      )
      .bind(from, to),
    db.prepare(`DELETE FROM rollup_attribute_hourly WHERE bucket_start >= ?1 AND bucket_start < ?2 AND ${moved}`).bind(from, to),
    db
      .prepare(
        `${insertInto('rollup_attribute_hourly')}
        SELECT dimension, bucket_start, tenant_id, value, ${SUMS} FROM (
          SELECT 'user' AS dimension, ${HOUR_OF} AS bucket_start, tenant_id, user AS value, ${RAW_COUNTERS} FROM requests WHERE ${RAW} AND user IS NOT NULL
          UNION ALL SELECT 'key', ${HOUR_OF}, tenant_id, key_id, ${RAW_COUNTERS} FROM requests WHERE ${RAW}
          UNION ALL SELECT 'tag:' || tag.key, ${HOUR_OF}, tenant_id, tag.value, ${RAW_COUNTERS} FROM requests, json_each(requests.tags) AS tag WHERE ${RAW} AND requests.tags IS NOT NULL
        ) WHERE ${moved} GROUP BY ${KEY}`,
      )
      .bind(from, to),
    ...(lastDay > firstDay
      ? [
          db.prepare(`DELETE FROM rollup_attribute_daily WHERE bucket_start >= ?1 AND bucket_start < ?3 AND ${moved}`).bind(firstDay, to, lastDay),
          db
            .prepare(
              `${insertInto('rollup_attribute_daily')}
              SELECT dimension, (bucket_start / ${DAY_MS}) * ${DAY_MS}, tenant_id, value, ${SUMS}
              FROM rollup_attribute_hourly WHERE bucket_start >= ?1 AND bucket_start < ?3 AND ${moved} GROUP BY 1, 2, 3, 4`,
            )
            .bind(firstDay, to, lastDay),
        ]
      : []),
  ];
}

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
