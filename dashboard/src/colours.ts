/**
 * Series colours. A tenant, model, tier or provider keeps its colour in every chart and across
 * refreshes (a colour per key, not per rank), so it can be followed from chart to chart.
 */

/** Distinguishable in light and dark themes and for the common colour-vision deficiencies (Tableau 10 without its grey). */
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f'];
/** Kept for the "Other" series of a stack, so no key is ever mistaken for it. */
export const OTHER_COLOUR = '#bab0ac';

/** For a fixed list of metrics (p50, p95, p99…), where the position is the identity. */
export const colourOf = (index: number) => PALETTE[index % PALETTE.length];

/** FNV-1a: the same slot for the same key in every tab and session. */
function slotOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % PALETTE.length;
}

/** Colours handed out so far in this tab, per kind of key (tenant, model…). */
const given = new Map<string, Map<string, string>>();

/**
 * A key's colour: its hashed slot, or, when another key of its kind already has that one, the next
 * one none has, so up to nine keys of a kind never share a colour. Once given, it stays for the tab.
 */
export function keyColour(kind: string, group: string | null): string {
  // The group of calls with no user or tag (null) is a key of its own.
  const key = group ?? '\u0000none';
  let colours = given.get(kind);
  if (!colours) given.set(kind, (colours = new Map()));
  let colour = colours.get(key);
  if (!colour) {
    const taken = new Set(colours.values());
    const start = slotOf(key);
    colour = PALETTE.map((_, i) => PALETTE[(start + i) % PALETTE.length]).find((c) => !taken.has(c)) ?? PALETTE[start];
    colours.set(key, colour);
  }
  return colour;
}
