/** GET /health: touches each binding the proxy depends on; 503 names what failed. */
import type { Env } from '../env';

type Check = 'ok' | string;

async function check(run: () => Promise<unknown> | unknown): Promise<Check> {
  try {
    await run();
    return 'ok';
  } catch (error) {
    return `failed: ${error instanceof Error ? error.message : String(error)}`;
  }
}

export async function health(env: Env): Promise<Response> {
  const [d1, kv, analytics] = await Promise.all([
    check(() => env.DB.prepare('SELECT 1').first()),
    check(() => env.KV.get('health:probe')),
    // A Worker can only write to Analytics Engine, and a probe point would pollute the data,
    // so the check is that the binding is there and callable.
    check(() => {
      if (typeof env.AE?.writeDataPoint !== 'function') throw new Error('the AE binding is missing');
    }),
  ]);
  const queue = await check(() => {
    if (env.REQUEST_LOG_SINK === 'queue' && typeof env.LOG_QUEUE?.send !== 'function') throw new Error('REQUEST_LOG_SINK is queue but the LOG_QUEUE binding is missing');
  });
  const checks = { d1, kv, analytics_engine: analytics, log_queue: queue };
  const failed = Object.entries(checks).filter(([, value]) => value !== 'ok').map(([name]) => name);
  return Response.json(
    failed.length ? { status: 'degraded', failed, checks } : { status: 'ok', checks },
    { status: failed.length ? 503 : 200, headers: { 'cache-control': 'no-store' } },
  );
}
