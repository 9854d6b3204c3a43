/**
 * Admission as a step of the pipeline: the tenant's budget and buckets (limits/admission.ts)
 * asked for this call, the reservation kept on the call for whoever settles it, and the
 * x-ratelimit-* headers kept for whatever answer the call gets.
 */
import type { AppContext } from '../http/context';
import { admitCall, type Admission } from '../limits/admission';

export async function admit(c: AppContext, estimatedTokens: number): Promise<Admission> {
  const { admission, headers } = await admitCall({ env: c.env, tenant: c.get('tenant'), waitUntil: (work) => c.executionCtx.waitUntil(work) }, estimatedTokens);
  c.set('rateLimitHeaders', headers);
  c.get('call').admission = admission;
  return admission;
}
