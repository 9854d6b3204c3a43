/**
 * A breakdown's spend as a table, one row per group, largest spend first: the Spend page's by
 * model and by user, key or tag, and a tenant's own by user, key or tag.
 */
import type { Breakdown } from '../../../analytics/types';
import { count, groupName, usd } from '../format';

export function SpendTable({ breakdown, heading, name = groupName }: { breakdown: Breakdown; heading: string; name?: (key: string | null) => string }) {
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">{heading}</th>
            <th scope="col" class="num">
              Requests
            </th>
            <th scope="col" class="num">
              Input tokens
            </th>
            <th scope="col" class="num">
              Output tokens
            </th>
            <th scope="col" class="num">
              Cached input
            </th>
            <th scope="col" class="num">
              Spend
            </th>
            <th scope="col" class="num">
              Saved by cache
            </th>
          </tr>
        </thead>
        <tbody>
          {breakdown.data.map((g) => (
            <tr>
              <th scope="row">{name(g.key)}</th>
              <td class="num">{count(g.requests)}</td>
              <td class="num">{count(g.prompt_tokens)}</td>
              <td class="num">{count(g.completion_tokens)}</td>
              <td class="num">{count(g.cached_tokens)}</td>
              <td class="num">{usd(g.cost_usd)}</td>
              <td class="num">{usd(g.saved_usd)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
