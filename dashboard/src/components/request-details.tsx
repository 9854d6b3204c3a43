/** One call in full: its ids and routing, the upstream attempts that failed before its last, and its stored prompt and answer. */
import { ENDPOINT_PATHS } from '../../../analytics/endpoints';
import { api } from '../api';
import { count, dateTime, ms } from '../format';
import { useApi } from '../use-api';
import { Async } from './states';

/** Pretty JSON when it parses (stored content may be cut to the size cap), else the text as it is. */
function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export function RequestDetails({ id }: { id: string }) {
  const detail = useApi(() => api.request(id), [id]);
  return (
    <Async state={detail}>
      {(d) => (
        <div class="details">
          <dl class="facts">
            <div>
              <dt>Request id</dt>
              <dd class="mono">{d.id}</dd>
            </div>
            <div>
              <dt>Key</dt>
              <dd class="mono">{d.key_id}</dd>
            </div>
            <div>
              <dt>Endpoint</dt>
              <dd>
                {d.endpoint} <span class="muted mono">{ENDPOINT_PATHS[d.endpoint]}</span>
              </dd>
            </div>
            <div>
              <dt>Route</dt>
              <dd>{d.route_reason ?? '–'}</dd>
            </div>
            <div>
              <dt>Upstream attempts</dt>
              <dd>{d.attempts}</dd>
            </div>
            <div>
              <dt>Reasoning tokens</dt>
              <dd>
                {count(d.reasoning_tokens)} <span class="muted">of {count(d.completion_tokens)} output</span>
              </dd>
            </div>
          </dl>
          {d.failed_attempts.length > 0 && (
            <div class="table-wrap">
              <table>
                <caption>Attempts that failed before the last</caption>
                <thead>
                  <tr>
                    <th scope="col" class="num">
                      #
                    </th>
                    <th scope="col">Started</th>
                    <th scope="col">Model</th>
                    <th scope="col" class="num">
                      Status
                    </th>
                    <th scope="col">Error</th>
                    <th scope="col" class="num">
                      Took
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {d.failed_attempts.map((a) => (
                    <tr>
                      <td class="num">{a.attempt}</td>
                      <td>{dateTime(a.ts)}</td>
                      <td>{a.model}</td>
                      <td class="num">
                        <span class="status bad">{a.status}</span>
                      </td>
                      <td class="error-text">
                        {a.error_type && <span class="mono">{a.error_type}</span>} {a.error_message}
                      </td>
                      <td class="num">{ms(a.latency_ms)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {d.content ? (
            <div class="content-pair">
              <section aria-label="Request body">
                <h3>Request</h3>
                <pre tabIndex={0}>{pretty(d.content.request)}</pre>
              </section>
              <section aria-label="Answer">
                <h3>Answer</h3>
                <pre tabIndex={0}>{d.content.response === null ? 'No answer was completed.' : pretty(d.content.response)}</pre>
              </section>
              {d.content.truncated && <p class="muted small">Cut to the stored size limit.</p>}
            </div>
          ) : (
            <p class="muted small">No prompt or answer is stored for this call: its tenant does not store content.</p>
          )}
        </div>
      )}
    </Async>
  );
}
