/**
 * What the settings forms (a tenant's, a key's) make of their text fields: the admin API's values,
 * or an error saying what to type. '' means none (no limit, no budget, no expiry, no shadow
 * evaluation), or for alert thresholds the default ones.
 */
import { MAX_ALERT_THRESHOLD } from '../../proxy/alerts/thresholds';

/** A positive whole number, or null for no limit. */
export function parseLimit(text: string, what: string): number | null {
  if (text.trim() === '') return null;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${what} must be a whole number above 0, or empty for no limit.`);
  return value;
}

/** An amount in USD, or null for no budget. */
export function parseBudget(text: string): number | null {
  if (text.trim() === '') return null;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new Error('The monthly budget must be an amount in USD, or empty for none.');
  return value;
}

/** Alert thresholds typed as percentages of the budget (`50, 80, 100`), as fractions; null (the default ones) for ''. */
export function parseAlertThresholds(text: string): number[] | null {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  if (parts.length === 0) return null;
  return parts.map((part) => {
    const value = Number(part.replace(/%$/, ''));
    if (!Number.isFinite(value) || value <= 0 || value > MAX_ALERT_THRESHOLD * 100)
      throw new Error(`Alert thresholds are percentages of the budget above 0 and up to ${MAX_ALERT_THRESHOLD * 100}, like 50, 80, 100.`);
    return value / 100;
  });
}

/** Thresholds as the field shows them: percentages, rounded so that 0.07 does not read 7.000000000000001; '' for the default. */
export const alertThresholdsText = (thresholds: number[] | null) => thresholds?.map((t) => Number((t * 100).toFixed(6))).join(', ') ?? '';

/** A shadow-evaluation rate typed as a percentage of calls (`5`, `0.5%`), as the fraction the API takes; 0 (none) for ''. */
export function parseEvalRate(text: string): number {
  const typed = text.trim().replace(/%$/, '');
  if (typed === '') return 0;
  const value = Number(typed);
  if (!Number.isFinite(value) || value < 0 || value > 100)
    throw new Error('Shadow evaluation takes a percentage of calls from 0 to 100, like 5 or 0.5, or empty for none.');
  return value / 100;
}

/** A rate as the field and the settings line show it: a percentage, rounded as thresholds are; '' for none. */
export const evalRateText = (rate: number) => (rate > 0 ? String(Number((rate * 100).toFixed(6))) : '');

/** A `datetime-local` input's value (the browser's time zone) as ISO 8601, or null for never. */
export function parseLocalTime(text: string): string | null {
  if (text === '') return null;
  const time = new Date(text);
  if (Number.isNaN(time.getTime())) throw new Error('The expiry must be a date and time, or empty for never.');
  return time.toISOString();
}

/** An ISO 8601 instant as a `datetime-local` input's value, in the browser's time zone. */
export function localTimeInput(iso: string | null): string {
  if (iso === null) return '';
  const time = new Date(iso);
  return new Date(time.getTime() - time.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}
