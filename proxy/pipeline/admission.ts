/**
 * Admission as a step of the pipeline: the budgets and buckets of the tenant and of its key
 * (limits/admission.ts) asked for this call, the reservation kept on the call until its row settles it, and the
 * x-ratelimit-* headers kept for whatever answer the call gets.
 */
import { ZERO_USAGE } from '../core/usage';
import type { AppContext } from '../http/context';
import { admitCall } from '../limits/admission';
import { costNano } from '../pricing/catalog';

/** Output tokens reserved for a call that sets no maximum of its own. */
const DEFAULT_COMPLETION_RESERVE = 1024;

/**
 * Admits the call (budget, then buckets). It reserves its prompt and its output allowance
 * (`maxOutputTokens`, or 1,024) against the tpm of the tenant and of its key, and their cost at
 * the routed model's prices (the prompt at the input price, the allowance at the output price)
 * against their budgets.
 * `requests`: a call that uses no tokens and costs nothing (counting tokens) counts against rpm only.
 */
export async function admit(
  c: AppContext,
  promptTokens: number,
  maxOutputTokens: number | null | undefined,
  counts: 'all' | 'requests' = 'all',
): Promise<void> {
  const price = c.get('call').resolved?.price;
  const outputTokens = maxOutputTokens ?? DEFAULT_COMPLETION_RESERVE;
  const estimate =
    counts === 'all'
      ? { tokens: promptTokens + outputTokens, costNano: price ? costNano({ ...ZERO_USAGE, promptTokens, completionTokens: outputTokens }, price) : 0 }
      : { tokens: 0, costNano: 0 };
  const { admission, headers } = await admitCall(
    { env: c.env, tenant: c.get('tenant'), waitUntil: (work) => c.executionCtx.waitUntil(work) },
    estimate,
    counts,
  );
  c.set('rateLimitHeaders', headers);
  // Settled by the call's row (pipeline/call.ts), however the call ends.
  c.get('call').admission = admission;
}
