/**
 * Loads data for a view and reloads it when its inputs change or on a timer. While a reload is
 * under way the last data stays visible, but data loaded for other inputs (another range, filter,
 * page) is marked stale, so a panel never passes it off as the answer to the current ones.
 */
import { useEffect, useRef, useState } from 'preact/hooks';

export interface Loaded<T> {
  data?: T;
  /** Only an error of the current inputs: a failed load for old ones no longer matters. */
  error?: Error;
  /** A load is under way: the first, a refresh, or one for new inputs. */
  loading: boolean;
  /** `data` answers other inputs than the current ones (they changed, the new answer is on its way). */
  stale: boolean;
  reload: () => void;
}

/** What the last settled load left: its inputs (as `key`), and its data or error. */
interface Settled<T> {
  key?: string;
  data?: T;
  error?: Error;
  loading: boolean;
}

export function useApi<T>(load: () => Promise<T>, inputs: unknown[], refreshMs?: number): Loaded<T> {
  const key = JSON.stringify(inputs);
  const [state, setState] = useState<Settled<T>>({ loading: true });
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  const startedAt = useRef(0);

  useEffect(() => {
    const call = ++latest.current;
    startedAt.current = Date.now();
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => call === latest.current && setState({ key, data, loading: false }),
      // A failed refresh keeps the data it would have replaced; a failed load for new inputs keeps none.
      (error: Error) => call === latest.current && setState((s) => (s.key === key ? { ...s, error, loading: false } : { key, error, loading: false })),
    );
  }, [key, tick]);

  useEffect(() => {
    if (!refreshMs) return;
    const visible = () => document.visibilityState === 'visible';
    // Hidden tabs do not poll; a tab coming back into view refreshes at once if a refresh fell due meanwhile.
    const timer = setTimeout(() => visible() && setTick((t) => t + 1), refreshMs);
    const onVisibility = () => visible() && Date.now() - startedAt.current >= refreshMs && setTick((t) => t + 1);
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [refreshMs, key, tick]);

  // Decided at render time, so the very render that brings new inputs already shows the old data as stale.
  const current = state.key === key;
  return {
    data: state.data,
    error: current ? state.error : undefined,
    loading: state.loading || !current,
    stale: state.data !== undefined && !current,
    reload: () => setTick((t) => t + 1),
  };
}
