/**
 * The tasks an app may name in `x-task`, each with the tier it belongs on. A leaf module, so that
 * the tenant settings' schema (per-task tier overrides) can name the tasks without importing the
 * router and, through it, every provider.
 */
import type { Tier } from '../pricing/catalog';

export const TASK_TIERS: Record<string, Tier> = {
  classify: 'cheap',
  extract: 'cheap',
  route: 'cheap',
  summarize: 'cheap',
  moderate: 'cheap',
  generate: 'expensive',
  reason: 'expensive',
  code: 'expensive',
  analyze: 'expensive',
};

export const TASK_NAMES = Object.keys(TASK_TIERS);

/** A tenant's per-task tier overrides: `{"summarize": "expensive"}`. */
export type TaskTiers = Partial<Record<string, Tier>>;
