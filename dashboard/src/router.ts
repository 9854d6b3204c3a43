/**
 * Hash routes (`#/tenants/ten_x?range=7d`): the dashboard is static files, so every view is
 * addressable, bookmarkable and reloadable without any server-side fallback.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  /** Path segments, e.g. ['tenants', 'ten_x']. */
  segments: string[];
  params: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const [path, query = ''] = hash.replace(/^#\/?/, '').split('?', 2);
  return { segments: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query) };
}

export function href(path: string, params: Record<string, string | undefined> = {}): string {
  const query = new URLSearchParams(Object.entries(params).filter((entry): entry is [string, string] => Boolean(entry[1]))).toString();
  return `#/${path}${query ? `?${query}` : ''}`;
}

export function navigate(path: string, params: Record<string, string | undefined> = {}) {
  location.hash = href(path, params);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

/** The current view with some of its query parameters changed (undefined removes one): the other filters, range and choices stay. */
export function navigateWith(changes: Record<string, string | undefined>) {
  const { segments, params } = parseRoute(location.hash);
  navigate(segments.map(encodeURIComponent).join('/') || 'overview', { ...Object.fromEntries(params), ...changes });
}

/** A query parameter that must be one of `allowed` (a hand-edited URL may hold anything), else `fallback`. */
export function choiceOf<T extends string>(route: Route, name: string, allowed: readonly T[], fallback: T): T {
  const value = route.params.get(name);
  return allowed.includes(value as T) ? (value as T) : fallback;
}
