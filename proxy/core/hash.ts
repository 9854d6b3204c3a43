/** Fast, stable, non-cryptographic string hashes, for decisions that must be reproducible from their input. */

/** FNV-1a, 32 bits. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** FNV-1a with murmur3's finaliser, so that every bit depends on every input character. */
export function hash32(text: string): number {
  let h = fnv1a(text);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** `text` as a number in [0, 1), uniform over texts. */
export const unitHash = (text: string) => hash32(text) / 2 ** 32;
