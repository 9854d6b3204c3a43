/** The windows the dashboard offers, each with the bucket size its charts use. */
import type { Interval } from '../../analytics/types';

export type RangeId = '15m' | '1h' | '24h' | '7d' | '30d';

export const RANGES: Record<RangeId, { label: string; ms: number; interval: Interval }> = {
  '15m': { label: 'Last 15 minutes', ms: 15 * 60_000, interval: 'minute' },
  '1h': { label: 'Last hour', ms: 3_600_000, interval: 'minute' },
  '24h': { label: 'Last 24 hours', ms: 86_400_000, interval: 'hour' },
  '7d': { label: 'Last 7 days', ms: 7 * 86_400_000, interval: 'hour' },
  '30d': { label: 'Last 30 days', ms: 30 * 86_400_000, interval: 'day' },
};

export const DEFAULT_RANGE: RangeId = '24h';

export const isRangeId = (value: string | undefined): value is RangeId => value !== undefined && value in RANGES;

/** The window ending now (rounded to the second so repeated renders ask the same thing). */
export function windowOf(range: RangeId, now = Date.now()): { from: string; to: string } {
  const to = Math.ceil(now / 1000) * 1000;
  return { from: new Date(to - RANGES[range].ms).toISOString(), to: new Date(to).toISOString() };
}

/** Since midnight UTC: the day finance's CSV and the budgets count in. */
export function todayWindow(now = Date.now()): { from: string; to: string } {
  const midnight = Math.floor(now / 86_400_000) * 86_400_000;
  return { from: new Date(midnight).toISOString(), to: new Date(Math.ceil(now / 1000) * 1000).toISOString() };
}

/** A chart label for a bucket start, as precise as its interval. */
export function bucketLabel(iso: string, interval: Interval): string {
  const d = new Date(iso);
  if (interval === 'day') return d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
  const time = d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false });
  return interval === 'hour' && d.getHours() === 0 ? `${d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' })} ${time}` : time;
}
