/**
 * Reading the Worker's numeric settings (wrangler vars arrive as strings): a bad value falls
 * back to the default and is said once in the logs, never taken as 0 or NaN.
 */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** Reads a numeric var, falling back when it is unset or not a finite number. */
export function numberVar(value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : fallback;
}

/** Settings already reported as unusable (name=value), so each is said once per isolate, not per call. */
const reported = new Set<string>();

/**
 * A numeric setting that must lie in [min, max]: unset is the default, and so is anything else
 * that is not such a number (`soon`, 0 or a negative timeout), said once in the logs. `max`
 * defaults to the longest delay setTimeout takes (a longer one fires at once).
 */
export function rangeVar(name: string, value: string | undefined, fallback: number, min: number, max = 2 ** 31 - 1): number {
  return optionalRangeVar(name, value, min, max, `using ${fallback}`) ?? fallback;
}

/** A numeric setting in [min, max] that may be left unset (null); anything else is null too, said once in the logs as `instead`. */
export function optionalRangeVar(name: string, value: string | undefined, min: number, max = 2 ** 31 - 1, instead = 'ignored'): number | null {
  if (value === undefined || value.trim() === '') return null;
  const parsed = Number(value);
  if (parsed >= min && parsed <= max) return parsed;
  reportOnce(`${name}=${value}`, `${name}=${JSON.stringify(value)} is not a number from ${min} to ${max}: ${instead}`);
  return null;
}

/** Says a problem with a setting in the logs, once per isolate (keyed by `what`, e.g. name=value). */
export function reportOnce(what: string, problem: string): void {
  if (reported.has(what)) return;
  reported.add(what);
  console.warn(problem);
}
