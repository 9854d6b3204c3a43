/**
 * histogram.ts's arithmetic in SQL, so that D1 buckets latencies for the reports and builds
 * the rollups' histograms and stored percentiles without any row leaving the database.
 */

/** bucketOf, in SQL: exact below 128, then 32 buckets per power of two. */
export function bucketSql(column: string): string {
  const exponent = `CASE ${Array.from({ length: 24 }, (_, i) => `WHEN ${column} < ${2 ** (i + 8)} THEN ${i + 7}`).join(' ')} ELSE 31 END`;
  return `CASE WHEN ${column} < 128 THEN MAX(${column}, 0) ELSE 128 + ((${exponent}) - 7) * 32 + (((${column} - (1 << (${exponent}))) * 32) >> (${exponent})) END`;
}

/** The percentiles every histogram is summarised by. */
export const PERCENTILES = [50, 95, 99] as const;

/** Per key of `entries` (a query yielding the `key` columns, a bucket `b` and a count `n`): the histogram as JSON {bucket: count}. */
export const histogramJsonSql = (entries: string, key: string) =>
  `SELECT ${key}, json_group_object(CAST(b AS TEXT), n) AS hist FROM (SELECT ${key}, b, SUM(n) AS n FROM (${entries}) GROUP BY ${key}, b) GROUP BY ${key}`;

/**
 * Per key of `entries`: the nearest-rank p50, p95 and p99 as bucket indexes (the first bucket
 * whose running count reaches ceil(p% of the total)), as histogram.ts's percentile() takes them.
 */
export function percentileBucketsSql(entries: string, key: string): string {
  const pick = (p: number) => `MIN(CASE WHEN cum * 100 >= total * ${p} THEN b END) AS p${p}`;
  return `SELECT ${key}, ${PERCENTILES.map(pick).join(', ')}
    FROM (SELECT ${key}, b,
            SUM(n) OVER (PARTITION BY ${key} ORDER BY b ROWS UNBOUNDED PRECEDING) AS cum,
            SUM(n) OVER (PARTITION BY ${key}) AS total
          FROM (SELECT ${key}, b, SUM(n) AS n FROM (${entries}) GROUP BY ${key}, b))
    GROUP BY ${key}`;
}

/** The entries of the JSON histograms in `column` of the rows of `rows` (a table, CTE or subquery), with the `key` columns. */
export const histogramEntriesSql = (rows: string, column: string, key: string) =>
  `SELECT ${key}, CAST(j.key AS INTEGER) AS b, j.value AS n FROM ${rows} AS r, json_each(r.${column}) AS j`;
