/**
 * What the settings forms (a tenant's, a key's) make of their text fields: the admin API's values,
 * or an error saying what to type. '' always means none (no limit, no budget, no expiry).
 */

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
