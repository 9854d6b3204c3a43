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

export const newRequestId = () => `req_${randomToken(20)}`;
export const newTenantId = () => `ten_${randomToken(16)}`;
export const newKeyId = () => `key_${randomToken(16)}`;
export const newAlertId = () => `alt_${randomToken(16)}`;
export const newDeliveryId = () => `dlv_${randomToken(16)}`;

/** Tenant ids as newTenantId makes them: `ten_` and base62 (16 characters there; fixtures use shorter ones). */
export const TENANT_ID_PATTERN = /^ten_[A-Za-z0-9]{1,64}$/;
export const TENANT_ID_RULE = 'expected a tenant id: ten_ followed by letters and digits';
