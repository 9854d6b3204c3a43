/** Turning the timeseries API's answers into chart datasets. */
import type { Point, Timeseries } from '../../analytics/types';
import type { Dataset } from './components/chart';
import { bucketAxis, type RangeId, type TimeAxis } from './time-range';

/** The x axis of a chart of this series over the range (every series has the same buckets). */
export const timeAxis = (series: Timeseries, range: RangeId): TimeAxis => bucketAxis((series.series[0]?.points ?? []).map((p) => p.ts), range);

/** One dataset per series (tenant, model…), largest total first so the stack reads bottom-up. */
export function stackedDatasets(series: Timeseries, metric: (p: Point) => number, name: (key: string) => string = (k) => k): Dataset[] {
  return series.series
    .map((s) => ({ key: s.key, values: s.points.map(metric) }))
    .map((s) => ({ ...s, total: s.values.reduce((a, b) => a + b, 0) }))
    .filter((s) => s.total > 0)
    .sort((a, b) => b.total - a.total)
    .map((s) => ({ label: name(s.key), data: s.values }));
}

/** Several metrics of one (ungrouped) series; null where a bucket has no value (a gap in the line). */
export function lineDatasets(series: Timeseries, metrics: { label: string; value: (p: Point) => number | null }[]): Dataset[] {
  const points = series.series[0]?.points ?? [];
  return metrics.map((m) => ({ label: m.label, data: points.map(m.value) }));
}

export const hasCalls = (series: Timeseries) => series.series.some((s) => s.points.some((p) => p.requests > 0));
