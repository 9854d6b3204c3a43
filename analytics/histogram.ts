/**
 * Latency histograms with fixed buckets, so that percentiles can be merged across hours, days
 * and raw rows and still agree exactly: every percentile the analytics report is computed from
 * these buckets, whichever source the counts came from. Below 128 ms each millisecond is its own
 * bucket; above, each power of two is split into 32 buckets, so a reported value is at most
 * about 3% above the true one (it is the upper bound of the bucket holding the percentile).
 */
const EXACT_BELOW = 128;
const SUB_BUCKETS = 32;
const EXACT_BITS = Math.log2(EXACT_BELOW);

export function bucketOf(ms: number): number {
  const v = Math.max(0, Math.floor(ms));
  if (v < EXACT_BELOW) return v;
  const exponent = Math.floor(Math.log2(v));
  const width = 2 ** exponent / SUB_BUCKETS;
  return EXACT_BELOW + (exponent - EXACT_BITS) * SUB_BUCKETS + Math.floor((v - 2 ** exponent) / width);
}

/** The largest value in a bucket: what a percentile falling in it reports. */
export function bucketUpperBound(bucket: number): number {
  if (bucket < EXACT_BELOW) return bucket;
  const exponent = EXACT_BITS + Math.floor((bucket - EXACT_BELOW) / SUB_BUCKETS);
  const sub = (bucket - EXACT_BELOW) % SUB_BUCKETS;
  const width = 2 ** exponent / SUB_BUCKETS;
  return 2 ** exponent + (sub + 1) * width - 1;
}

/** Counts per bucket index, sparse: JSON {bucket: count} as the rollups store it. */
export type Histogram = Record<number, number>;

export function mergeInto(target: Histogram, source: Histogram): Histogram {
  for (const bucket in source) target[bucket] = (target[bucket] ?? 0) + source[bucket];
  return target;
}

/**
 * The bucket holding the nearest-rank percentile p (0 < p <= 100): the first bucket whose
 * running count reaches ceil(p% of the total); null when the histogram is empty. The same rule
 * as histogram-sql.ts's percentileBucketsSql.
 */
export function percentileBucket(histogram: Histogram, p: number): number | null {
  const buckets = Object.keys(histogram)
    .map(Number)
    .sort((a, b) => a - b);
  const total = buckets.reduce((sum, b) => sum + histogram[b], 0);
  if (total === 0) return null;
  let seen = 0;
  for (const bucket of buckets) {
    seen += histogram[bucket];
    if (seen * 100 >= total * p) return bucket;
  }
  return buckets.at(-1)!;
}
