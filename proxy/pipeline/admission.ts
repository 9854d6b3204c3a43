/**
 * Admission as a step of the pipeline: the tenant's budget and buckets (limits/admission.ts)
 * asked for this call, the reservation kept on the call for whoever settles it, and the
 * x-ratelimit-* headers kept for whatever answer the call gets.
 */
import type { AppContext } from '../http/context';
import { admitCall, type Admission } from '../limits/admission';

/** Output tokens reserved for a call that sets no maximum of its own. */
const DEFAULT_COMPLETION_RESERVE = 1024;

/** Tokens reserved against the tenant's tpm before the call: the prompt plus the output allowance. */
export const reservationFor = (promptTokens: number, maxOutputTokens: number | null | undefined) =>
  promptTokens + (maxOutputTokens ?? DEFAULT_COMPLETION_RESERVE);

export async function admit(c: AppContext, estimatedTokens: number, counts: 'all' | 'requests' = 'all'): Promise<Admission> {
  const { admission, headers } = await admitCall(
    { env: c.env, tenant: c.get('tenant'), waitUntil: (work) => c.executionCtx.waitUntil(work) },
    estimatedTokens,
    counts,
  );
  c.set('rateLimitHeaders', headers);
  c.get('call').admission = admission;
  return admission;
}
