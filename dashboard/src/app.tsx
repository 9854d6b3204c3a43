/** The shell: sign-in gate, navigation, the time range, and the page for the current route. */
import { useEffect, useState } from 'preact/hooks';
import { onUnauthorized, session } from './api';
import { RangePicker } from './components/range-picker';
import type { PageProps } from './page-props';
import { AlertsPage } from './pages/alerts';
import { LatencyPage } from './pages/latency';
import { OverviewPage } from './pages/overview';
import { RequestsPage } from './pages/requests';
import { RoutingPage } from './pages/routing';
import { SignInPage } from './pages/sign-in';
import { SpendPage } from './pages/spend';
import { TenantPage } from './pages/tenant';
import { TenantsPage } from './pages/tenants';
import { href, useRoute } from './router';
import { DEFAULT_RANGE, isRangeId, type RangeId } from './time-range';

const PAGES = [
  { path: 'overview', title: 'Overview' },
  { path: 'spend', title: 'Spend' },
  { path: 'tenants', title: 'Tenants' },
  { path: 'latency', title: 'Latency & errors' },
  { path: 'routing', title: 'Routing' },
  { path: 'requests', title: 'Request log' },
  { path: 'alerts', title: 'Alerts' },
] as const;

/** Live pages reload this often, all of them, unless auto-refresh is off. */
const REFRESH_MS = 30_000;

function Page(props: PageProps) {
  const [page, id] = props.route.segments;
  if (page === 'spend') return <SpendPage {...props} />;
  // Keyed by tenant: another tenant's page starts empty, never showing the last one's numbers or new key.
  if (page === 'tenants' && id) return <TenantPage key={id} {...props} tenantId={id} />;
  if (page === 'tenants') return <TenantsPage {...props} />;
  if (page === 'latency') return <LatencyPage {...props} />;
  if (page === 'routing') return <RoutingPage {...props} />;
  if (page === 'requests') return <RequestsPage {...props} />;
  if (page === 'alerts') return <AlertsPage {...props} />;
  return <OverviewPage {...props} />;
}

export function App() {
  const [signedIn, setSignedIn] = useState(() => session.token() !== null);
  // Why the last session ended, when the proxy ended it rather than the user.
  const [ended, setEnded] = useState<string | null>(null);
  const route = useRoute();
  const [autoRefresh, setAutoRefresh] = useState(true);
  useEffect(
    () =>
      onUnauthorized(() => {
        session.signOut();
        setSignedIn(false);
        setEnded('Your session ended: the admin token was rejected. Sign in again with the current one.');
      }),
    [],
  );

  const range = isRangeId(route.params.get('range') ?? undefined) ? (route.params.get('range') as RangeId) : DEFAULT_RANGE;
  const [current = 'overview', id] = route.segments;
  // The range applies to every view but the tenant list and the alert history. Views of live numbers
  // refresh themselves; the tenant list, the request log and the alerts do not (new rows would move the rows being read).
  const ranged = !(current === 'tenants' && !id) && current !== 'alerts';
  const live = ['overview', 'spend', 'latency', 'routing'].includes(current) || (current === 'tenants' && id !== undefined);
  const title = signedIn ? (PAGES.find((p) => p.path === current)?.title ?? 'Overview') : 'Sign in';
  useEffect(() => void (document.title = `${title} · AI cost proxy`), [title]);

  if (!signedIn)
    return (
      <SignInPage
        notice={ended}
        onSignedIn={() => {
          setEnded(null);
          setSignedIn(true);
        }}
      />
    );

  return (
    <div class="shell">
      <header class="top">
        <a class="brand" href={href('overview', { range })}>
          AI cost proxy
        </a>
        <nav aria-label="Pages">
          {PAGES.map((p) => (
            <a href={href(p.path, { range })} aria-current={p.path === current ? 'page' : undefined}>
              {p.title}
            </a>
          ))}
        </nav>
        <div class="top-actions">
          {ranged && <RangePicker route={route} range={range} />}
          {live && (
            <label class="inline">
              <input type="checkbox" checked={autoRefresh} onChange={(e) => setAutoRefresh((e.target as HTMLInputElement).checked)} /> Auto-refresh (30 s)
            </label>
          )}
        </div>
        <button
          type="button"
          class="secondary sign-out"
          onClick={() => {
            session.signOut();
            setSignedIn(false);
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        <Page route={route} range={range} refreshMs={live && autoRefresh ? REFRESH_MS : undefined} />
      </main>
    </div>
  );
}
