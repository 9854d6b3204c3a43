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

/** The local clock's offset as people write it: "UTC+01:00", "UTC-05:30", or "UTC" itself. */
function utcOffset(at: Date): string {
  const minutes = -at.getTimezoneOffset();
  if (minutes === 0) return 'UTC';
  const abs = Math.abs(minutes);
  return `UTC${minutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

const label = (iso: string, options: Intl.DateTimeFormatOptions) => new Date(iso).toLocaleString('en-GB', options);
const TIME: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };

/** The x axis of a chart over time: full labels for tooltips, short ones for the axis, and a title naming the clock. */
export interface TimeAxis {
  labels: string[];
  tickLabels: string[];
  xTitle: string;
}

/**
 * Minutes and hours read in local time, the axis title naming its offset; a range of several days
 * puts the weekday on the axis ("Mon 14:00"). Day buckets are UTC days (as the API, the budgets and
 * the finance CSV count days), so they read as UTC dates, and their axis says so.
 */
export function bucketAxis(starts: string[], range: RangeId): TimeAxis {
  const { interval, ms } = RANGES[range];
  if (interval === 'day') {
    return {
      labels: starts.map((s) => label(s, { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' })),
      tickLabels: starts.map((s) => label(s, { day: 'numeric', month: 'short', timeZone: 'UTC' })),
      xTitle: 'Day (UTC)',
    };
  }
  return {
    // A tooltip names the day too: a window's first and last hour can share a time of day.
    labels: starts.map((s) => label(s, interval === 'hour' ? { weekday: 'short', day: 'numeric', month: 'short', ...TIME } : TIME)),
    tickLabels: starts.map((s) => label(s, ms > 86_400_000 ? { weekday: 'short', ...TIME } : TIME)),
    xTitle: `Time (${utcOffset(new Date())})`,
  };
}
