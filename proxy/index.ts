/** Worker entry point. */
import { runRollup } from '../analytics/rollup';
import { app } from './app';
import type { Env } from './core/env';
import type { RequestRecord } from './core/request-record';
import { consumeRequestLog } from './request-log/consumer';

export { TenantRateLimiter } from './limits/stores';

export default {
  fetch: app.fetch,
  /** The cron trigger: roll the request log up into hourly and daily aggregates, purge old rows. */
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(runRollup(env).then((report) => console.log('rollup', JSON.stringify(report))));
  },
  /** The request-log queue's consumer (REQUEST_LOG_SINK=queue, and rows D1 refused). */
  queue: (batch, env) => consumeRequestLog(batch, env),
} satisfies ExportedHandler<Env, RequestRecord>;
