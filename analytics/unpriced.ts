/**
 * Calls served with no price in force (ALLOW_UNPRICED_MODELS=true): their rows cost 0 because
 * nobody could price them, so finance must see how many there are and which models to price.
 * Read from the raw request log (a partial index keeps it to those rows), within its retention.
 */
import type { Unpriced } from './types';

export async function unpricedCalls(db: D1Database, window: { from: number; to: number; tenant?: string }): Promise<Unpriced> {
  const tenantFilter = window.tenant ? ' AND tenant_id = ?' : '';
  const { results } = await db
    .prepare(
      `SELECT model, COUNT(*) AS requests, MAX(ts) AS last_ts FROM requests WHERE unpriced = 1 AND ts >= ? AND ts < ?${tenantFilter}
       GROUP BY model ORDER BY requests DESC, model`,
    )
    .bind(window.from, window.to, ...(window.tenant ? [window.tenant] : []))
    .all<{ model: string | null; requests: number; last_ts: number }>();
  const models = results.map((r) => ({ model: r.model ?? '', requests: r.requests, last_seen: new Date(r.last_ts).toISOString() }));
  return { from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString(), requests: models.reduce((sum, m) => sum + m.requests, 0), models };
}
