/** Loads data for a view, reloads it when its inputs change or on a timer, and keeps stale data visible while reloading. */
import { useEffect, useRef, useState } from 'preact/hooks';

export interface Loaded<T> {
  data?: T;
  error?: Error;
  loading: boolean;
  reload: () => void;
}

export function useApi<T>(load: () => Promise<T>, inputs: unknown[], refreshMs?: number): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const latest = useRef(0);

  useEffect(() => {
    const call = ++latest.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => call === latest.current && setState({ data, loading: false }),
      (error: Error) => call === latest.current && setState((s) => ({ data: s.data, error, loading: false })),
    );
  }, [...inputs, tick]);

  useEffect(() => {
    if (!refreshMs) return;
    const timer = setInterval(() => document.visibilityState === 'visible' && setTick((t) => t + 1), refreshMs);
    return () => clearInterval(timer);
  }, [refreshMs]);

  return { ...state, reload: () => setTick((t) => t + 1) };
}
