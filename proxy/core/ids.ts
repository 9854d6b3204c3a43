/** Random identifiers from the platform CSPRNG, base62 so they are URL- and header-safe. */
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function randomToken(length: number): string {
  // 248 is the largest multiple of 62 below 256: rejecting bytes above it keeps every
  // character equally likely.
  let out = '';
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

/** Digits of a request id's time: 62^8 ms reach the year 8900. */
const TIME_DIGITS = 8;

/**
 * A call's id: `req_`, its start time (epoch ms, TIME_DIGITS base62 digits, so ids sort by time)
 * and 20 random characters. The time says which hour of the request-log archive holds the call
 * once D1 has purged it (analytics/requests.ts); ids made before it was added have none.
 */
export function newRequestId(startedAt: number): string {
  let time = '';
  for (let t = Math.floor(startedAt); time.length < TIME_DIGITS; t = Math.floor(t / 62)) time = ALPHABET[t % 62] + time;
  return `req_${time}${randomToken(20)}`;
}

/** The start time a request id carries, or null for an id without one. */
export function requestIdTime(id: string): number | null {
  const match = /^req_([0-9A-Za-z]{8})[0-9A-Za-z]{20}$/.exec(id);
  return match ? [...match[1]].reduce((t, digit) => t * 62 + ALPHABET.indexOf(digit), 0) : null;
}
export const newTenantId = () => `ten_${randomToken(16)}`;
export const newKeyId = () => `key_${randomToken(16)}`;
export const newAlertId = () => `alt_${randomToken(16)}`;
export const newDeliveryId = () => `dlv_${randomToken(16)}`;

/** Tenant ids as newTenantId makes them: `ten_` and base62 (16 characters there; fixtures use shorter ones). */
export const TENANT_ID_PATTERN = /^ten_[A-Za-z0-9]{1,64}$/;
export const TENANT_ID_RULE = 'expected a tenant id: ten_ followed by letters and digits';
