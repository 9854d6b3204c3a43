import { describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS, planSegments } from '../../analytics/segments';

const D = Date.UTC(2026, 10, 1); // a UTC midnight

describe('planSegments', () => {
  it('uses whole days, then whole hours, then raw rows for the edges and the unrolled tail', () => {
    const from = D + 30 * 60_000; // 00:30 on day 1
    const to = D + 3 * DAY_MS + 5 * HOUR_MS + 10 * 60_000; // 05:10 on day 4
    const rolledUntil = D + 3 * DAY_MS + 3 * HOUR_MS; // rolled up to 03:00 on day 4
    expect(planSegments(from, to, rolledUntil, 'day')).toEqual([
      { source: 'raw', start: from, end: D + HOUR_MS },
      { source: 'hour', start: D + HOUR_MS, end: D + DAY_MS },
      { source: 'day', start: D + DAY_MS, end: D + 3 * DAY_MS },
      { source: 'hour', start: D + 3 * DAY_MS, end: rolledUntil },
      { source: 'raw', start: rolledUntil, end: to },
    ]);
  });

  it('never uses daily rollups for hourly series', () => {
    const segments = planSegments(D, D + 2 * DAY_MS, D + 2 * DAY_MS, 'hour');
    expect(segments).toEqual([{ source: 'hour', start: D, end: D + 2 * DAY_MS }]);
  });

  it('reads raw rows only when nothing in the window is rolled up', () => {
    expect(planSegments(D + 10, D + HOUR_MS * 2, D, 'day')).toEqual([{ source: 'raw', start: D + 10, end: D + 2 * HOUR_MS }]);
    expect(planSegments(D + 10, D + 20, D + DAY_MS, 'day')).toEqual([{ source: 'raw', start: D + 10, end: D + 20 }]);
  });

  it('covers the window exactly, without gaps or overlaps', () => {
    for (const [from, to, rolled] of [
      [D + 123, D + 40 * DAY_MS + 77, D + 39 * DAY_MS],
      [D, D + 5 * HOUR_MS, D + 2 * HOUR_MS + 5],
    ]) {
      const segments = planSegments(from, to, rolled, 'day');
      expect(segments[0].start).toBe(from);
      expect(segments.at(-1)!.end).toBe(to);
      for (let i = 1; i < segments.length; i++) expect(segments[i].start).toBe(segments[i - 1].end);
    }
  });

  it('reads rollups only over whole hours (and daily rows over whole days), so none counts calls outside the window', () => {
    let seed = 7;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    // Minute-level instants, so boundaries land on and off the hour and the day.
    const instant = (days: number) => D + Math.floor(random() * days * 24 * 60) * 60_000;
    for (let i = 0; i < 2000; i++) {
      const from = instant(20);
      const to = from + Math.floor(random() * 10 * DAY_MS) + 1;
      const rolled = Math.floor(instant(30) / HOUR_MS) * HOUR_MS;
      for (const coarsest of ['hour', 'day'] as const) {
        for (const { source, start, end } of planSegments(from, to, rolled, coarsest)) {
          if (source === 'raw') continue;
          const unit = source === 'day' ? DAY_MS : HOUR_MS;
          expect([start % unit, end % unit, end <= rolled]).toEqual([0, 0, true]);
        }
      }
    }
  });

  it('reads the partial last hour from raw rows when the window ends inside a rolled-up hour', () => {
    const to = D + 5 * HOUR_MS + 30 * 60_000;
    expect(planSegments(D, to, D + 10 * HOUR_MS, 'day')).toEqual([
      { source: 'hour', start: D, end: D + 5 * HOUR_MS },
      { source: 'raw', start: D + 5 * HOUR_MS, end: to },
    ]);
  });

  it('has at most five segments, the most terms D1 allows in one UNION', () => {
    let seed = 3;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let i = 0; i < 500; i++) {
      const from = D + Math.floor(random() * 40 * DAY_MS);
      const to = from + Math.floor(random() * 40 * DAY_MS) + 1;
      const rolled = D + Math.floor(random() * 90 * DAY_MS);
      for (const coarsest of ['hour', 'day'] as const) expect(planSegments(from, to, rolled, coarsest).length).toBeLessThanOrEqual(5);
    }
  });
});
