/**
 * Bounded waits: the request log must see every record stored somewhere before its call's
 * waitUntil runs out, so no wait on a binding may be open-ended.
 */
export const TIMED_OUT = Symbol('timed out');

/** `work`'s result, or TIMED_OUT when it has not settled within `ms` (it goes on, unwatched). */
export async function within<T>(ms: number, work: Promise<T>): Promise<T | typeof TIMED_OUT> {
  let timer = 0;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
