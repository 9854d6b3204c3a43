/**
 * The upstream step every endpoint shares: the routed model through its provider, retried and
 * then replaced by the fallback as routing/failover.ts decides, each attempt noted on the
 * call's row. It ends when the upstream has answered: a complete response, or a stream's first
 * part, so that nothing is retried once bytes have reached the client.
 */
import type { AppContext } from '../http/context';
import { effectivePrice } from '../pricing/overrides';
import { failoverPolicy, withFailover, type Attempt, type FailoverPolicy } from '../routing/failover';
import type { ResolvedModel } from '../routing/models';
import { withFirst, type PartReader } from '../streaming/parts';
import { attemptHooks } from './call';

/**
 * Runs `attempt` for `routed`, then for `fallback` when there is one, until one answers. A call
 * that gets no answer gives its whole token reservation back.
 */
export async function callUpstream<T>(
  c: AppContext,
  routed: ResolvedModel,
  fallback: ResolvedModel | null,
  run: (attempt: Attempt, policy: FailoverPolicy) => Promise<T>,
): Promise<T> {
  const call = c.get('call');
  const policy = failoverPolicy(c.env);
  try {
    return await withFailover(
      fallback ? [routed, fallback] : [routed],
      policy,
      call.controller.signal,
      async (attempt) => {
        const { model } = attempt;
        if (model !== routed) model.price = await effectivePrice(c.env, model.id, model.price);
        return run(attempt, policy);
      },
      attemptHooks(call),
    );
  } catch (error) {
    call.admission?.settle(0);
    throw error;
  }
}

/**
 * Waits for a stream's first part (the upstream's first byte of content), so that a stream
 * failing before it can still be retried; the part is put back in front of the rest.
 */
export async function firstPart(parts: PartReader, attempt: Attempt, timeoutMs: number): Promise<PartReader> {
  try {
    return withFirst(await attempt.within(timeoutMs, parts.read()), parts);
  } catch (error) {
    parts.cancel().catch(() => {});
    throw error;
  }
}
