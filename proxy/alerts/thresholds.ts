/**
 * The limits of a tenant's alert thresholds, apart from the schemas so that the dashboard can
 * import them without bundling zod (as analytics/endpoints.ts is for the endpoints).
 */

/** A tenant's alert thresholds when it sets none: fractions of its monthly budget. */
export const DEFAULT_ALERT_THRESHOLDS = [0.5, 0.8, 1];
/** The most thresholds a tenant may set, and the largest (10 = 1,000% of the budget). */
export const MAX_ALERT_THRESHOLDS = 10;
export const MAX_ALERT_THRESHOLD = 10;
