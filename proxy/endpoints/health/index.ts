/**
 * GET /health: touches each binding the proxy depends on; 503 names what failed. The answer is
 * public, so a failure is given a short reason and the binding's own error text goes to the logs.
 * It also reports the request log's storage (request-log/storage.ts: D1's size against its
 * limit, the archive, the overflow) with its warnings, which never make it a 503.
 */
import { adminTokenProblem } from '../../auth/admin-guard';
import type { Env } from '../../core/env';
import { TIMED_OUT, within } from '../../core/within';
import { storageReport } from '../../request-log/storage';

/** A binding that has not answered by then is reported failed (a health check must answer, even if D1 hangs). */
const PROBE_TIMEOUT_MS = 2500;

/** `run`'s value, or a short reason why there is none (it failed, or did not answer in time). */
async function bounded<T>(name: string, run: () => Promise<T>): Promise<{ value: T } | { failed: string }> {
  const answered = Promise.resolve()
    .then(run)
    .then(
      (value) => ({ value }),
      (error: unknown) => {
        console.error(`health: ${name} failed`, error instanceof Error ? error.message : error);
        return { failed: 'failed: error (see the logs)' };
      },
    );
  const result = await within(PROBE_TIMEOUT_MS, answered);
  if (result === TIMED_OUT) {
    console.error(`health: ${name} failed: no answer within ${PROBE_TIMEOUT_MS} ms`);
    return { failed: `failed: no answer within ${PROBE_TIMEOUT_MS} ms` };
  }
  return result;
}

/** `run` against the binding, as 'ok' or a short reason. */
const probe = async (name: string, run: () => Promise<unknown>) => {
  const result = await bounded(name, run);
  return 'failed' in result ? result.failed : 'ok';
};

export async function health(env: Env): Promise<Response> {
  const [d1, kv, storage] = await Promise.all([
    probe('d1', () => env.DB.prepare('SELECT 1').first()),
    probe('kv', () => env.KV.get('health:probe')),
    bounded('storage', () => storageReport(env)),
  ]);
  const checks = {
    d1,
    kv,
    // A Worker can only write to Analytics Engine, and a probe point would pollute the data,
    // so the check is that the binding is there and callable.
    analytics_engine: typeof env.AE?.writeDataPoint === 'function' ? 'ok' : 'failed: the AE binding is missing',
    log_queue:
      env.REQUEST_LOG_SINK === 'queue' && typeof env.LOG_QUEUE?.send !== 'function'
        ? 'failed: REQUEST_LOG_SINK is queue but the LOG_QUEUE binding is missing'
        : 'ok',
    // Deployed, a short ADMIN_TOKEN closes the admin API: said here, where a deploy is checked first.
    admin_token:
      adminTokenProblem(env) === null ? 'ok' : 'failed: ADMIN_TOKEN is shorter than 32 characters; the admin API refuses it until a longer one is set',
  };
  const failed = Object.entries(checks)
    .filter(([, value]) => value !== 'ok')
    .map(([name]) => name);
  // Storage is reported, never checked: a nearly full D1 or rows in the overflow are warnings (its `warnings`).
  const report = { checks, storage: 'value' in storage ? storage.value : null };
  return Response.json(failed.length ? { status: 'degraded', failed, ...report } : { status: 'ok', ...report }, {
    status: failed.length ? 503 : 200,
    headers: { 'cache-control': 'no-store' },
  });
}
