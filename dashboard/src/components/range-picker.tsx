/** The time range of every page, kept in the URL so a link shows the same window. */
import { navigate, type Route } from '../router';
import { RANGES, type RangeId } from '../time-range';

export function RangePicker({ route, range }: { route: Route; range: RangeId }) {
  return (
    <label class="range-picker">
      <span class="visually-hidden">Time range</span>
      <select
        value={range}
        onChange={(event) => {
          const params = Object.fromEntries(route.params);
          navigate(route.segments.map(encodeURIComponent).join('/') || 'overview', {
            ...params,
            range: (event.target as HTMLSelectElement).value,
            cursor: undefined,
          });
        }}
      >
        {Object.entries(RANGES).map(([id, r]) => (
          <option value={id}>{r.label}</option>
        ))}
      </select>
    </label>
  );
}
