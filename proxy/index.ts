/** Worker entry point. */
import { runRollup } from '../analytics/rollup';
import { checkAllBudgets } from './alerts/budget';
import { retryDueDeliveries } from './alerts/deliveries';
import { checkUpstreams } from './alerts/oncall';
import { app } from './app';
import type { Env } from './core/env';
import type { RequestRecord } from './core/request-record';
import { consumeRequestLog } from './request-log/consumer';
import { drainOverflow } from './request-log/overflow';

export { TenantRateLimiter } from './limits/stores';

/** The cron's alert work at `now`: budgets and forecasts, upstream health, and deliveries due for a retry. */
async function runAlertChecks(env: Env, now: number) {
  const [budget, upstream, retried] = await Promise.all([checkAllBudgets(env, now), checkUpstreams(env, now), retryDueDeliveries(env, now)]);
  return { budget, upstream, retried };
}

export default {
  fetch: app.fetch,
  /**
   * The cron trigger: roll the request log up into hourly and daily aggregates, archive finished
   * hours to R2 and purge old rows, then insert calls waiting in the overflow (D1 was full); and
   * the alerts' checks and retries (docs/ALERTS.md).
   */
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(
      (async () => {
        console.log('rollup', JSON.stringify(await runRollup(env)));
        console.log('overflow drain', JSON.stringify(await drainOverflow(env)));
      })(),
    );
    ctx.waitUntil(
      runAlertChecks(env, controller.scheduledTime).then(
        (report) => console.log('alerts', JSON.stringify(report)),
        (error: unknown) => console.error('alerts: the cron checks failed', error instanceof Error ? error.message : error),
      ),
    );
  },
  /** The request-log queue's consumer (REQUEST_LOG_SINK=queue, and rows D1 refused). */
  queue: (batch, env, ctx) => consumeRequestLog(batch, env, ctx),
} satisfies ExportedHandler<Env, RequestRecord>;
