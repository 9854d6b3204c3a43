/**
 * Spend by end user, API key or tag (`by` in the URL): who and what the money went to, on the
 * Spend page (every tenant) and on a tenant's page (its own calls). Calls with no user, or no tag
 * of the key asked, are the group "none".
 */
import type { GroupBy } from '../../../analytics/types';
import { api } from '../api';
import { Async } from './states';
import { GroupByPicker, groupByLabel, groupByOf, type GroupByOption } from './group-by';
import { SpendTable } from './spend-table';
import type { PageProps } from '../page-props';
import { RANGES, windowOf } from '../time-range';
import { useApi } from '../use-api';

const OPTIONS: readonly GroupByOption[] = ['user', 'key', 'tag'];
const FALLBACK: GroupBy = 'user';

export function SpendByAttribute({ route, range, refreshMs, tenant }: PageProps & { tenant?: string }) {
  const by = groupByOf(route, 'by', OPTIONS, FALLBACK);
  const groups = useApi(() => api.breakdown({ ...windowOf(range), tenant }, by), [range, by, tenant], refreshMs);
  const label = groupByLabel(by);
  return (
    <section class="card" aria-labelledby="spend-by-attribute">
      <div class="card-head">
        <h2 id="spend-by-attribute">
          Spend by {label}, {RANGES[range].label.toLowerCase()}
        </h2>
        <GroupByPicker param="by" options={OPTIONS} value={by} fallback={FALLBACK} legend="Spend by" />
      </div>
      <Async state={groups} empty={(b) => b.data.length === 0}>
        {(b) => <SpendTable breakdown={b} heading={label[0].toUpperCase() + label.slice(1)} />}
      </Async>
    </section>
  );
}
