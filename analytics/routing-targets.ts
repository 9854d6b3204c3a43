/**
 * What a routing recommendation needs, apart from the report's queries so that the dashboard,
 * which says it to its reader, can import it without D1's types.
 */

/** Judged samples below which no recommendation is made. */
export const MIN_SAMPLES = 50;
/** The agreement the cheap tier must reach for a task: the lower bound of its interval, to stay or move there. */
export const AGREEMENT_TARGET = 0.9;
