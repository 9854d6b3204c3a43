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
  const checks = { d1, kv, analytics_engine: analytics };
  const failed = Object.entries(checks).filter(([, value]) => value !== 'ok').map(([name]) => name);
  return Response.json(
    failed.length ? { status: 'degraded', failed, checks } : { status: 'ok', checks },
    { status: failed.length ? 503 : 200, headers: { 'cache-control': 'no-store' } },
  );
}
