import { describe, expect, it } from 'vitest';
import { bucketSql } from '../../analytics/aggregate-query';
import { addValue, bucketOf, bucketUpperBound, mergeInto, percentile, type Histogram } from '../../analytics/histogram';
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

describe('percentiles', () => {
  it('match the direct computation on the bucket grid, for any set of values', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const values = Array.from({ length: 5000 }, () => Math.floor(20 + random() ** 3 * 8000));
    const histogram: Histogram = {};
    for (const v of values) addValue(histogram, v);
    for (const p of [50, 90, 95, 99, 100]) {
      expect(percentile(histogram, p)).toBe(bucketUpperBound(bucketOf(directPercentile(values, p))));
    }
  });

  it('are the same whether the counts were merged from parts or counted whole', () => {
    const values = Array.from({ length: 300 }, (_, i) => (i * 37) % 1500);
    const whole: Histogram = {};
    values.forEach((v) => addValue(whole, v));
    const parts = [values.slice(0, 100), values.slice(100, 250), values.slice(250)].map((chunk) => chunk.reduce<Histogram>((h, v) => addValue(h, v), {}));
    const merged = parts.reduce((acc, h) => mergeInto(acc, h), {} as Histogram);
    expect(merged).toEqual(whole);
    expect(percentile(merged, 95)).toBe(percentile(whole, 95));
  });

  it('is null for no values', () => {
    expect(percentile({}, 50)).toBeNull();
  });
});
