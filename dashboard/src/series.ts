/** Turning the timeseries API's answers into chart datasets. */
import type { Point, Timeseries } from '../../analytics/types';
import { keyColour, OTHER_COLOUR } from './colours';
import { groupName } from './format';
import type { Dataset } from './components/chart';
import { bucketAxis, type RangeId, type TimeAxis } from './time-range';

/** The x axis of a chart of this series over the range (every series has the same buckets). */
export const timeAxis = (series: Timeseries, range: RangeId): TimeAxis =>
  bucketAxis(
    (series.series[0]?.points ?? []).map((p) => p.ts),
    range,
  );

/** A stack shows at most this many series; the smaller rest is summed as "Other". */
const MAX_STACKED = 8;

/**
 * One dataset per series (tenant, model…), largest total first so the stack reads bottom-up, each
 * in its key's own colour; beyond MAX_STACKED, the smallest are summed into one "Other".
 */
export function stackedDatasets(series: Timeseries, metric: (p: Point) => number, name: (key: string | null) => string = groupName): Dataset[] {
  const ranked = series.series
    .map((s) => ({ key: s.key, values: s.points.map(metric) }))
    .map((s) => ({ ...s, total: s.values.reduce((a, b) => a + b, 0) }))
    .filter((s) => s.total > 0)
    .sort((a, b) => b.total - a.total);
  const shown: Dataset[] = ranked
    .slice(0, MAX_STACKED)
    .map((s) => ({ label: name(s.key), data: s.values, colour: keyColour(series.group_by ?? 'all', s.key) }));
  const rest = ranked.slice(MAX_STACKED);
  if (rest.length === 0) return shown;
  const other = rest[0].values.map((_, i) => rest.reduce((sum, s) => sum + s.values[i], 0));
  return [...shown, { label: `Other (${rest.length})`, data: other, colour: OTHER_COLOUR }];
}

/** Several metrics of one (ungrouped) series; null where a bucket has no value (a gap in the line). */
export function lineDatasets(series: Timeseries, metrics: { label: string; value: (p: Point) => number | null }[]): Dataset[] {
  const points = series.series[0]?.points ?? [];
  return metrics.map((m) => ({ label: m.label, data: points.map(m.value) }));
}

export const hasCalls = (series: Timeseries) => series.series.some((s) => s.points.some((p) => p.requests > 0));
