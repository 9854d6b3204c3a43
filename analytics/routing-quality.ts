/**
 * GET /admin/analytics/routing-quality: what shadow evaluation found (proxy/evaluation/), per task
 * and served tier. Agreement is the share of judged samples where the cheap tier's answer was the
 * same or better, with a Wilson 95% interval (honest at small counts and near 0 or 1, where the
 * normal approximation is not); costs are scaled up to all of the task's calls by each sample's
 * own rate (a Horvitz-Thompson estimate, right however the rate changed over the window). A
 * recommendation is given only from MIN_SAMPLES on, and only when the interval clears the target.
 * Read from the evaluations table, which holds no request-log row: nothing here is tenant spend.
 */
import { AGREEMENT_TARGET, MIN_SAMPLES } from './routing-targets';
import { DAY_MS, HOUR_MS } from './segments';
import type { RoutingQuality, RoutingQualityRow } from './types';

/** Windows up to this long get hourly points; longer ones daily. */
const HOURLY_UP_TO_MS = 3 * DAY_MS;
const Z_95 = 1.959964;

/** The Wilson score interval of `k` successes in `n` trials at 95%; null when n is 0. */
export function wilsonInterval(k: number, n: number): { low: number; high: number } | null {
  if (n === 0) return null;
  const p = k / n;
  const z2 = Z_95 * Z_95;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (Z_95 * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

type Tier = RoutingQualityRow['tier'];

/** What the numbers say to do with the task's calls on `tier`. */
export function recommend(tier: Tier, samples: number, interval: { low: number; high: number } | null): RoutingQualityRow['recommendation'] {
  if (samples < MIN_SAMPLES || !interval) return null;
  const goodEnough = interval.low >= AGREEMENT_TARGET;
  const notGoodEnough = interval.high < AGREEMENT_TARGET;
  if (tier === 'cheap') return goodEnough ? 'keep' : notGoodEnough ? 'move_to_expensive' : 'undecided';
  return goodEnough ? 'move_to_cheap' : notGoodEnough ? 'keep' : 'undecided';
}

const JUDGED = "verdict IN ('same', 'cheap_worse', 'cheap_better')";
const SERVED_COST = "CASE served_tier WHEN 'cheap' THEN cheap_cost_nano ELSE expensive_cost_nano END";
const OTHER_COST = "CASE served_tier WHEN 'cheap' THEN expensive_cost_nano ELSE cheap_cost_nano END";

interface GroupRow {
  task: string;
  tier: Tier;
  same: number;
  cheap_worse: number;
  cheap_better: number;
  invalid: number;
  failed: number;
  sampled_nano: number;
  other_nano: number;
  estimated_nano: number;
  estimated_other_nano: number;
  eval_nano: number;
}

interface PointRow {
  task: string;
  tier: Tier;
  bucket: number;
  samples: number;
  agreeing: number;
}

const usd = (nano: number) => nano / 1e9;

/**
 * The results of a window, per task and tier, with agreement over time. Costs are summed over
 * judged samples only: a failed or invalid evaluation has no pair to compare.
 */
export async function routingQuality(
  db: D1Database,
  scope: { from: number; to: number; tenant?: string },
  spend: { monthToDateNano: number; capNano: number | null },
): Promise<RoutingQuality> {
  const filter = `ts >= ? AND ts < ?${scope.tenant ? ' AND tenant_id = ?' : ''}`;
  const params = [scope.from, scope.to, ...(scope.tenant ? [scope.tenant] : [])];
  const step = scope.to - scope.from <= HOURLY_UP_TO_MS ? HOUR_MS : DAY_MS;
  const [groups, points] = await db.batch([
    db
      .prepare(
        `SELECT task, served_tier AS tier,
           SUM(verdict = 'same') AS same, SUM(verdict = 'cheap_worse') AS cheap_worse, SUM(verdict = 'cheap_better') AS cheap_better,
           SUM(verdict = 'invalid') AS invalid, SUM(verdict = 'failed') AS failed,
           SUM(CASE WHEN ${JUDGED} THEN ${SERVED_COST} ELSE 0 END) AS sampled_nano,
           SUM(CASE WHEN ${JUDGED} THEN ${OTHER_COST} ELSE 0 END) AS other_nano,
           SUM(CASE WHEN ${JUDGED} THEN ${SERVED_COST} / sample_rate ELSE 0 END) AS estimated_nano,
           SUM(CASE WHEN ${JUDGED} THEN ${OTHER_COST} / sample_rate ELSE 0 END) AS estimated_other_nano,
           SUM(shadow_cost_nano + judge_cost_nano) AS eval_nano
         FROM evaluations WHERE ${filter} GROUP BY task, served_tier ORDER BY task, served_tier`,
      )
      .bind(...params),
    db
      .prepare(
        `SELECT task, served_tier AS tier, (ts / ${step}) * ${step} AS bucket, COUNT(*) AS samples, SUM(verdict IN ('same', 'cheap_better')) AS agreeing
         FROM evaluations WHERE ${filter} AND ${JUDGED} GROUP BY task, served_tier, bucket`,
      )
      .bind(...params),
  ]);

  const rows = groups.results as unknown as GroupRow[];
  const data = rows.map((g): RoutingQualityRow => {
    const samples = g.same + g.cheap_worse + g.cheap_better;
    const interval = wilsonInterval(g.same + g.cheap_better, samples);
    return {
      task: g.task,
      tier: g.tier,
      samples,
      same: g.same,
      cheap_worse: g.cheap_worse,
      cheap_better: g.cheap_better,
      invalid: g.invalid,
      failed: g.failed,
      agreement_rate: samples ? (g.same + g.cheap_better) / samples : null,
      agreement_low: interval?.low ?? null,
      agreement_high: interval?.high ?? null,
      cost_usd: usd(g.estimated_nano),
      move_cost_delta_usd: usd(g.estimated_other_nano - g.estimated_nano),
      sampled_cost_usd: usd(g.sampled_nano),
      sampled_other_tier_cost_usd: usd(g.other_nano),
      eval_cost_usd: usd(g.eval_nano),
      recommendation: recommend(g.tier, samples, interval),
    };
  });

  const first = Math.floor(scope.from / step) * step;
  const count = Math.ceil((scope.to - first) / step);
  const byGroup = new Map<string, Map<number, PointRow>>();
  for (const p of points.results as unknown as PointRow[]) {
    const key = `${p.task}\u0000${p.tier}`;
    if (!byGroup.has(key)) byGroup.set(key, new Map());
    byGroup.get(key)!.set(p.bucket, p);
  }
  const series = data
    .filter((g) => byGroup.has(`${g.task}\u0000${g.tier}`))
    .map((g) => {
      const buckets = byGroup.get(`${g.task}\u0000${g.tier}`)!;
      return {
        task: g.task,
        tier: g.tier,
        points: Array.from({ length: count }, (_, i) => {
          const ts = first + i * step;
          const p = buckets.get(ts);
          return { ts: new Date(ts).toISOString(), samples: p?.samples ?? 0, agreement_rate: p ? p.agreeing / p.samples : null };
        }),
      };
    });

  return {
    from: new Date(scope.from).toISOString(),
    to: new Date(scope.to).toISOString(),
    data,
    interval: step === HOUR_MS ? 'hour' : 'day',
    series,
    eval_spend: {
      window_usd: usd(rows.reduce((sum, g) => sum + g.eval_nano, 0)),
      month_to_date_usd: usd(spend.monthToDateNano),
      monthly_cap_usd: spend.capNano === null ? null : usd(spend.capNano),
    },
  };
}
