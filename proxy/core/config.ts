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
  if (value === undefined || value.trim() === '') return fallback;
  const parsed = Number(value);
  if (parsed >= min && parsed <= max) return parsed;
  if (!reported.has(`${name}=${value}`)) {
    reported.add(`${name}=${value}`);
    console.warn(`${name}=${JSON.stringify(value)} is not a number from ${min} to ${max}: using ${fallback}`);
  }
  return fallback;
}
