/**
 * Upstream alerts for on-call, from the cron: per provider/model over the last ONCALL_WINDOW_MS,
 * the upstream error rate and the p95 latency of successful calls, against the operator's
 * ALERT_ERROR_RATE and ALERT_P95_MS. An alert fires when a metric goes over and says "resolved"
 * when it is back under, once each: no repeat while it keeps firing. Sent to ALERT_WEBHOOK_URL
 * only (a provider's health is the operator's business, not a tenant's).
 *
 * - Error rate: failed attempts over all attempts. An attempt is each request-log row that
 *   reached an upstream (its last attempt) and each earlier failed attempt of request_attempts;
 *   it failed with a status of 500 or more (a 5xx, a timeout, an unreachable upstream). A call
 *   rescued by a retry or a fallback still counts the attempts that failed.
 * - p95: of the calls answered 200 by the model (response-cache hits excluded), from the same
 *   fixed-bucket histogram as the dashboard's (analytics/histogram.ts), so the two agree.
 * - A metric is judged only over at least ONCALL_MIN_SAMPLES attempts (error rate) or successful
 *   calls (p95): a window with fewer neither fires nor resolves.
 * - State lives in the alerts table (concurrent cron runs agree): each episode of a metric for a
 *   model is numbered, `{kind}:{model}:{n}:firing` then `{kind}:{model}:{n}:resolved`, so a run
 *   counting the episodes raised so far knows whether one is open and which key to claim.
 */
import { bucketUpperBound } from '../../analytics/histogram';
import { bucketSql, percentileBucketsSql } from '../../analytics/histogram-sql';
import { optionalRangeVar } from '../core/config';
import type { Env } from '../core/env';
import { raiseAlert, type AlertToRaise } from './deliveries';
import { operatorWebhook } from './destinations';
import { upstreamPayload } from './payloads';

export const ONCALL_WINDOW_MS = 10 * 60_000;
export const ONCALL_MIN_SAMPLES = 20;

type Metric = 'error_rate' | 'latency_p95';

/** ?1, ?2: the window. */
const ERRORS_SQL = `SELECT model, COUNT(*) AS samples, SUM(failed) AS failed FROM (
    SELECT model, status >= 500 AS failed FROM requests WHERE ts >= ?1 AND ts < ?2 AND attempts > 0 AND model IS NOT NULL
    UNION ALL
    SELECT model, status >= 500 AS failed FROM request_attempts WHERE ts >= ?1 AND ts < ?2
  ) GROUP BY model`;
const SUCCESSES = `FROM requests WHERE ts >= ?1 AND ts < ?2 AND status = 200 AND attempts > 0 AND model IS NOT NULL`;
const P95_SQL = `SELECT p.model, p.p95, c.samples FROM (${percentileBucketsSql(`SELECT model, ${bucketSql('latency_ms')} AS b, 1 AS n ${SUCCESSES}`, 'model')}) p
  JOIN (SELECT model, COUNT(*) AS samples ${SUCCESSES} GROUP BY model) c ON c.model = p.model`;
const EPISODES_SQL = `SELECT kind, subject, SUM(state = 'firing') AS fired, SUM(state = 'resolved') AS resolved FROM alerts
  WHERE kind IN ('error_rate', 'latency_p95') GROUP BY kind, subject`;

/** The thresholds set by the operator; an unset or unusable one turns its metric off. */
function thresholdsOf(env: Env): Partial<Record<Metric, number>> {
  const errorRate = optionalRangeVar('ALERT_ERROR_RATE', env.ALERT_ERROR_RATE, 0, 1);
  const p95 = optionalRangeVar('ALERT_P95_MS', env.ALERT_P95_MS, 1);
  return { ...(errorRate === null ? {} : { error_rate: errorRate }), ...(p95 === null ? {} : { latency_p95: p95 }) };
}

/** The cron's part: the window ending at `now`, checked and alerted. How many alerts were due. */
export async function checkUpstreams(env: Env, now: number): Promise<number> {
  const url = operatorWebhook(env);
  const thresholds = thresholdsOf(env);
  if (!url || Object.keys(thresholds).length === 0) return 0;
  const from = now - ONCALL_WINDOW_MS;
  const [errors, latency, episodes] = await env.DB.batch([
    env.DB.prepare(ERRORS_SQL).bind(from, now),
    env.DB.prepare(P95_SQL).bind(from, now),
    env.DB.prepare(EPISODES_SQL),
  ]);
  const measured: Record<Metric, Array<{ model: string; value: number; samples: number }>> = {
    error_rate: (errors.results as Array<{ model: string; samples: number; failed: number }>).map((r) => ({
      model: r.model,
      value: r.failed / r.samples,
      samples: r.samples,
    })),
    latency_p95: (latency.results as Array<{ model: string; p95: number; samples: number }>).map((r) => ({
      model: r.model,
      value: bucketUpperBound(r.p95),
      samples: r.samples,
    })),
  };
  const count = new Map(
    (episodes.results as Array<{ kind: Metric; subject: string; fired: number; resolved: number }>).map((e) => [`${e.kind}:${e.subject}`, e]),
  );
  const due: AlertToRaise[] = [];
  for (const [metric, threshold] of Object.entries(thresholds) as Array<[Metric, number]>) {
    for (const { model, value, samples } of measured[metric]) {
      if (samples < ONCALL_MIN_SAMPLES) continue;
      const { fired = 0, resolved = 0 } = count.get(`${metric}:${model}`) ?? {};
      const firing = fired > resolved;
      const over = value > threshold;
      if (over === firing) continue;
      const state = over ? 'firing' : 'resolved';
      due.push({
        dedupeKey: `${metric}:${model}:${over ? fired + 1 : fired}:${state}`,
        kind: metric,
        state,
        tenantId: null,
        keyId: null,
        subject: model,
        destinations: [{ destination: 'operator', url }],
        payload: (id, at) =>
          upstreamPayload(
            env,
            id,
            { kind: metric, state, model, value, threshold, samples, window_start: new Date(from).toISOString(), window_end: new Date(now).toISOString() },
            at,
          ),
      });
    }
  }
  await Promise.all(due.map((alert) => raiseAlert(env, alert, now)));
  return due.length;
}
