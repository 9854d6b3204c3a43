/**
 * What a spend view is grouped by, kept in the URL (`stack_by=user`, `by=tag:team`) so a link or a
 * reload shows the same: a choice of options, one of which may be "tag", with a text box for the
 * tag's key. The API checks the key (a bad one is its 400, shown where the answer would be).
 */
import { useState } from 'preact/hooks';
import type { GroupBy } from '../../../analytics/types';
import { navigateWith, type Route } from '../router';

/** The options a picker offers: group_by values, and `tag` for the text box. */
export type GroupByOption = Exclude<GroupBy, `tag:${string}`> | 'tag';

/** The group_by a URL parameter names: one of `options` (or `tag:<key>` when tag is one), else `fallback`. */
export function groupByOf(route: Route, param: string, options: readonly GroupByOption[], fallback: GroupBy): GroupBy {
  const value = route.params.get(param) ?? '';
  if (value.startsWith('tag:')) return options.includes('tag') && value.length > 4 ? (value as GroupBy) : fallback;
  return options.includes(value as GroupByOption) && value !== 'tag' ? (value as GroupBy) : fallback;
}

/** What a chart title or column heading calls a grouping: `user`, `key`, `tag team`. */
export const groupByLabel = (groupBy: GroupBy) => (groupBy.startsWith('tag:') ? `tag ${groupBy.slice(4)}` : groupBy);

interface Props {
  /** The URL parameter it sets; the default value leaves it out. */
  param: string;
  options: readonly GroupByOption[];
  value: GroupBy;
  fallback: GroupBy;
  legend: string;
}

export function GroupByPicker({ param, options, value, fallback, legend }: Props) {
  const tagKey = value.startsWith('tag:') ? value.slice(4) : '';
  const [typed, setTyped] = useState(tagKey || 'team');
  const choose = (groupBy: GroupBy) => navigateWith({ [param]: groupBy === fallback ? undefined : groupBy });
  return (
    <fieldset class="segmented">
      <legend class="visually-hidden">{legend}</legend>
      {options.map((option) =>
        option === 'tag' ? (
          <span class="inline">
            <label>
              <input type="radio" name={param} value="tag" checked={tagKey !== ''} onChange={() => choose(`tag:${typed.trim()}`)} /> By tag
            </label>
            <input
              class="tag-key"
              aria-label="Tag key"
              placeholder="team"
              value={typed}
              onInput={(e) => setTyped((e.target as HTMLInputElement).value)}
              onChange={(e) => {
                const key = (e.target as HTMLInputElement).value.trim();
                if (key) choose(`tag:${key}`);
              }}
            />
          </span>
        ) : (
          <label>
            <input type="radio" name={param} value={option} checked={value === option} onChange={() => choose(option)} /> By {option}
          </label>
        ),
      )}
    </fieldset>
  );
}
