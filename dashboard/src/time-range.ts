/** The windows the dashboard offers, each with the bucket size its charts use. */
import type { Interval } from '../../analytics/types';

export type RangeId = '15m' | '1h' | '24h' | '7d' | '30d' | 'this-month' | 'last-month';

const MINUTE = 60_000;
const DAY = 86_400_000;

interface Range {
  label: string;
  interval: Interval;
  /** The window, in ms since the epoch, as of `now`. */
  window: (now: number) => { from: number; to: number };
  /** Spans more than a day, so its times need the day beside them. */
  multiDay: boolean;
}

const last = (label: string, ms: number, interval: Interval): Range => ({
  label,
  interval,
  window: (now) => ({ from: now - ms, to: now }),
  multiDay: ms > DAY,
});

/** A calendar month in UTC (the month the budgets and the finance CSV count in), `back` months before the current one, which ends now. */
const month = (label: string, back: number): Range => ({
  label,
  interval: 'day',
  window: (now) => {
    const d = new Date(now);
    const start = (monthsAhead: number) => Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - back + monthsAhead, 1);
    return { from: start(0), to: back === 0 ? now : start(1) };
  },
  multiDay: true,
});

export const RANGES: Record<RangeId, Range> = {
  '15m': last('Last 15 minutes', 15 * MINUTE, 'minute'),
  '1h': last('Last hour', 60 * MINUTE, 'minute'),
  '24h': last('Last 24 hours', DAY, 'hour'),
  '7d': last('Last 7 days', 7 * DAY, 'hour'),
  '30d': last('Last 30 days', 30 * DAY, 'day'),
  'this-month': month('This month', 0),
  'last-month': month('Last month', 1),
};

export const DEFAULT_RANGE: RangeId = '24h';

/** Own keys only: `?range=constructor` must not pass for a range (an inherited property of the object). */
export const isRangeId = (value: string | undefined): value is RangeId => value !== undefined && Object.hasOwn(RANGES, value);

/** The range's window as of now (rounded to the second so repeated renders ask the same thing). */
export function windowOf(range: RangeId, now = Date.now()): { from: string; to: string } {
  const { from, to } = RANGES[range].window(Math.ceil(now / 1000) * 1000);
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
}

/** Since midnight UTC: the day finance's CSV and the budgets count in. */
export function todayWindow(now = Date.now()): { from: string; to: string } {
  const midnight = Math.floor(now / DAY) * DAY;
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
  const { interval, multiDay } = RANGES[range];
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
    tickLabels: starts.map((s) => label(s, multiDay ? { weekday: 'short', ...TIME } : TIME)),
    xTitle: `Time (${utcOffset(new Date())})`,
  };
}
