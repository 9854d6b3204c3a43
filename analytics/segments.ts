/**
 * Splits a time window into the parts each source can answer exactly: whole UTC days from
 * rollup_daily, whole hours from rollup_hourly, and the rest (partial hours at the edges, and
 * everything not rolled up yet) from the raw request log.
 */
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export type Source = 'day' | 'hour' | 'raw';

export interface Segment {
  source: Source;
  start: number;
  end: number;
}

const ceilTo = (t: number, unit: number) => Math.ceil(t / unit) * unit;
const floorTo = (t: number, unit: number) => Math.floor(t / unit) * unit;

/**
 * @param rolledUntil hours before this instant are in rollup_hourly (and whole days in rollup_daily)
 * @param coarsest the coarsest rollup the caller may use: `hour` for hourly series, `day` otherwise
 */
export function planSegments(from: number, to: number, rolledUntil: number, coarsest: 'hour' | 'day'): Segment[] {
  const segments: Segment[] = [];
  const push = (source: Source, start: number, end: number) => {
    if (end <= start) return;
    const last = segments.at(-1);
    if (last && last.source === source && last.end === start) last.end = end;
    else segments.push({ source, start, end });
  };
  // Rollup rows are whole hours: one that ends after `to` would count calls past the window,
  // so the hour `to` falls in (like the one `from` falls in) is read from raw rows.
  const rolledEnd = Math.min(floorTo(to, HOUR_MS), floorTo(rolledUntil, HOUR_MS));
  let cursor = from;
  const firstHour = Math.min(ceilTo(from, HOUR_MS), to);
  if (firstHour > rolledEnd) {
    push('raw', from, to);
    return segments;
  }
  push('raw', cursor, firstHour);
  cursor = firstHour;
  while (cursor < rolledEnd) {
    const dayEnd = floorTo(cursor, DAY_MS) + DAY_MS;
    if (coarsest === 'day' && cursor % DAY_MS === 0 && dayEnd <= rolledEnd) {
      push('day', cursor, dayEnd);
      cursor = dayEnd;
    } else {
      const end = Math.min(coarsest === 'day' ? dayEnd : rolledEnd, rolledEnd);
      push('hour', cursor, end);
      cursor = end;
    }
  }
  push('raw', cursor, to);
  return segments;
}
