/** How numbers read on the dashboard: money to the cent (or finer when small), compact counts. */
const usdLarge = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
const usdSmall = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumSignificantDigits: 3 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
const whole = new Intl.NumberFormat('en-US');

/** Below a dollar, cents hide the spend of cheap models: show three significant digits instead. */
export const usd = (value: number) => (value !== 0 && Math.abs(value) < 1 ? usdSmall.format(value) : usdLarge.format(value));
export const count = (value: number) => (Math.abs(value) >= 10_000 ? compact.format(value) : whole.format(value));
export const percent = (value: number | null, digits = 1) => (value === null ? '–' : `${(value * 100).toFixed(digits)}%`);
export const ms = (value: number | null) => (value === null ? '–' : value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${whole.format(value)} ms`);

/**
 * A group's name in a breakdown. Calls refused before a model was chosen (an unknown model, a bad
 * request) are grouped under "(none)", which would say nothing to a reader; so are, under
 * "(unknown)", calls rolled up before the endpoint was kept (migration 0012), and under null the
 * calls with no user, or no tag of the key asked.
 */
export const groupName = (key: string | null) =>
  key === null ? 'none' : key === '(none)' ? 'no model (bad request)' : key === '(unknown)' ? 'endpoint not recorded (older calls)' : key;

/** A call's tags as the header sent them: `feature=rag, team=search`. */
export const tagsText = (tags: Record<string, string>) =>
  Object.entries(tags)
    .map(([key, value]) => `${key}=${value}`)
    .join(', ');

/** Time of day for today's moments, with the date for older ones. */
export function dateTime(iso: string, now = new Date()): string {
  const d = new Date(iso);
  const time = d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  return d.toDateString() === now.toDateString() ? time : `${d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' })} ${time}`;
}
