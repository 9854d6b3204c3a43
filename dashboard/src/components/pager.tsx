/**
 * Paging through a newest-first list by keyset cursors (the request log, the alert history). The
 * cursors of the pages before the current one live in the URL (`cursor=c2.c3`): a reload or a link
 * shows the same page, the back button pages back, and a second click asks for the same URL.
 */
import type { Route } from '../router';

/** The cursors of the pages before this one; the last is the current page's. Cursors are base64 without padding, so '.' cannot occur in one. */
export const cursorsOf = (route: Route) => (route.params.get('cursor') ?? '').split('.').filter(Boolean);

/** The URL parameter for a stack of cursors (undefined: the first page). */
export const cursorParam = (cursors: string[]) => cursors.join('.') || undefined;

export function Pager({
  label,
  cursors,
  next,
  loading,
  go,
}: {
  label: string;
  cursors: string[];
  next: string | null;
  loading: boolean;
  go: (cursors: string[]) => void;
}) {
  return (
    <nav class="pager" aria-label={label}>
      <button type="button" class="secondary" disabled={loading || cursors.length === 0} onClick={() => go(cursors.slice(0, -1))}>
        ← Newer
      </button>
      <span class="muted">Page {cursors.length + 1}</span>
      <button type="button" class="secondary" disabled={loading || !next} onClick={() => go([...cursors, next!])}>
        Older →
      </button>
    </nav>
  );
}
