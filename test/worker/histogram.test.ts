import { describe, expect, it } from 'vitest';
import { bucketOf, bucketUpperBound, mergeInto, percentileBucket, type Histogram } from '../../analytics/histogram';
import { bucketSql, histogramEntriesSql, histogramJsonSql, percentileBucketsSql } from '../../analytics/histogram-sql';
import { env } from './harness';

/** Nearest-rank percentile of raw values: the direct computation the histogram must match. */
function directPercentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1];
}

describe('latency buckets', () => {
  it('are exact below 128 ms and within 1/32 above', () => {
    for (let v = 0; v < 128; v++) expect(bucketUpperBound(bucketOf(v))).toBe(v);
    for (const v of [128, 129, 200, 999, 1000, 4095, 4096, 60_000, 1_234_567]) {
      const upper = bucketUpperBound(bucketOf(v));
      expect(upper).toBeGreaterThanOrEqual(v);
      expect((upper - v) / v).toBeLessThanOrEqual(1 / 32);
    }
  });

  it('are contiguous and ordered', () => {
    for (let b = 0; b < 600; b++) {
      expect(bucketOf(bucketUpperBound(b))).toBe(b);
      expect(bucketOf(bucketUpperBound(b) + 1)).toBe(b + 1);
    }
  });

  it('are the same when D1 computes them (the reports bucket raw rows in SQL)', async () => {
    const values = [0, 1, 127, 128, 129, 255, 256, 257, 1000, 4095, 4096, 65_535, 65_536, 1_234_567, 2 ** 31 - 1];
    for (let b = 0; b < 700; b += 7) values.push(bucketUpperBound(b), bucketUpperBound(b) + 1);
    const { results } = await env.DB.prepare(`SELECT value AS v, ${bucketSql('value')} AS b FROM json_each(?)`)
      .bind(JSON.stringify(values))
      .all<{ v: number; b: number }>();
    expect(results).toHaveLength(values.length);
    for (const { v, b } of results) expect([v, b]).toEqual([v, bucketOf(v)]);
  });
});

/** D1's histogram (JSON) and percentile buckets of each group of values, via the SQL the rollups use. */
async function statsInD1(groups: number[][]): Promise<{ hist: Histogram; p: (number | null)[] }[]> {
  const entries = `SELECT CAST(g.key AS INTEGER) AS grp, ${bucketSql('v.value')} AS b, 1 AS n FROM json_each(?1) g, json_each(g.value) v`;
  const [hists, percentiles] = await env.DB.batch<{ grp: number; hist: string; p50: number | null; p95: number | null; p99: number | null }>([
    env.DB.prepare(`${histogramJsonSql(entries, 'grp')} ORDER BY grp`).bind(JSON.stringify(groups)),
    env.DB.prepare(`${percentileBucketsSql(entries, 'grp')} ORDER BY grp`).bind(JSON.stringify(groups)),
  ]);
  return hists.results.map((h, i) => ({ hist: JSON.parse(h.hist), p: [percentiles.results[i].p50, percentiles.results[i].p95, percentiles.results[i].p99] }));
}

describe('percentiles', () => {
  let seed = 7;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const values = Array.from({ length: 5000 }, () => Math.floor(20 + random() ** 3 * 8000));

  it('match the direct computation on the bucket grid, in D1 and in the Worker alike', async () => {
    const [stats] = await statsInD1([values]);
    const expected = [50, 95, 99].map((p) => bucketOf(directPercentile(values, p)));
    expect(stats.p).toEqual(expected);
    expect([50, 95, 99].map((p) => percentileBucket(stats.hist, p))).toEqual(expected);
    expect(Object.values(stats.hist).reduce((a, b) => a + b, 0)).toBe(values.length);
  });

  it('are the same whether the counts were merged from parts or counted whole', async () => {
    const [whole, ...parts] = await statsInD1([values, values.slice(0, 1000), values.slice(1000, 4200), values.slice(4200)]);
    const merged = parts.reduce<Histogram>((acc, part) => mergeInto(acc, part.hist), {});
    expect(merged).toEqual(whole.hist);
    expect([50, 95, 99].map((p) => percentileBucket(merged, p))).toEqual(whole.p);
    // And merged inside D1, as the daily rollup merges hourly rows.
    const entries = histogramEntriesSql('parts', 'hist', 'one');
    const { results } = await env.DB.prepare(`WITH parts AS (SELECT 1 AS one, value AS hist FROM json_each(?1)) ${percentileBucketsSql(entries, 'one')}`)
      .bind(JSON.stringify(parts.map((part) => JSON.stringify(part.hist))))
      .all<{ p50: number; p95: number; p99: number }>();
    expect([results[0].p50, results[0].p95, results[0].p99]).toEqual(whole.p);
  });

  it('are the value itself for one value, and absent (reported as null) for none', async () => {
    const [one] = await statsInD1([[42]]);
    expect(one.p).toEqual([42, 42, 42]);
    expect(percentileBucket({}, 50)).toBeNull();
    const { results } = await env.DB.prepare(percentileBucketsSql('SELECT 1 AS k, 0 AS b, 0 AS n WHERE 0', 'k')).all();
    expect(results).toEqual([]);
  });
});
