/** What the shell (app.tsx) gives every page. Its own module so the pages need not import the shell that imports them. */
import type { Route } from './router';
import type { RangeId } from './time-range';

export interface PageProps {
  route: Route;
  range: RangeId;
  /** How often the page reloads its numbers (while the tab is shown); undefined: it does not. */
  refreshMs?: number;
}
