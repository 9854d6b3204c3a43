/**
 * The upstream step every endpoint shares: the routed model through its provider, retried and
 * then replaced by the fallback as routing/failover.ts decides, each attempt noted on the
 * call's row. It ends when the upstream has answered: a complete response, or a stream's first
 * part, so that nothing is retried once bytes have reached the client.
 */
import type { JsonBody } from '../http/body';
import type { AppContext } from '../http/context';
import { PROVIDERS } from '../providers';
import { promptCacheSalt } from '../providers/prompt-cache-salt';
import type { ChatRequest, ChatResult, ForwardResult, NativeApi } from '../providers/types';
import { failoverPolicy, withFailover, type Attempt, type FailoverPolicy } from '../routing/failover';
import type { ResolvedModel } from '../routing/models';
import { withFirst, type PartReader } from '../streaming/parts';
import { attemptHooks, noteTimeout } from './call';
import { toProxyError } from '../core/errors';
import { allowsUnpriced, priceModel } from './request';

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
  // A fallback nobody could bill is no fallback.
  const billable = fallback && (await priceModel(c, fallback)).price === null && !allowsUnpriced(c.env) ? null : fallback;
  try {
    return await withFailover(billable ? [routed, billable] : [routed], policy, call.controller.signal, (attempt) => run(attempt, policy), attemptHooks(call));
  } catch (error) {
    const failure = toProxyError(error);
    noteTimeout(call, failure);
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

/**
 * One call in an inbound API other than chat, as each candidate model gets it: in the client's
 * own API where the model's provider speaks it (forwarded as sent), else through the internal
 * form (translated).
 */
export interface ApiCall {
  api: NativeApi;
  stream: boolean;
  raw: JsonBody;
  body: Record<string, unknown>;
  /** The client's headers a native upstream must see. */
  headers?: Record<string, string>;
  /** Whether `model` gets the call in the client's API. */
  native(model: ResolvedModel): boolean;
  /** The call in the internal form, for a model that does not; throws what cannot be translated. */
  translation(): ChatRequest;
}

/** The answer, and whether it is in the client's API already (native) or in the internal form. */
export type ApiAnswer = (ForwardResult | ChatResult) & { native: boolean };

/** The fallback, if it can take the call: natively, or because the call can be translated. */
export function usableFallback(fallback: ResolvedModel | null, call: Pick<ApiCall, 'native' | 'translation'>): ResolvedModel | null {
  if (!fallback || call.native(fallback)) return fallback;
  try {
    call.translation();
    return fallback;
  } catch {
    return null;
  }
}

/** callUpstream for an ApiCall: each attempt native or translated as its model requires. */
export async function callApiUpstream(c: AppContext, routed: ResolvedModel, fallback: ResolvedModel | null, call: ApiCall): Promise<ApiAnswer> {
  const tenantId = c.get('tenant').tenantId;
  const salt = promptCacheSalt(c.get('tenant'));
  return callUpstream(c, routed, fallback, async (attempt, policy) => {
    const { model } = attempt;
    const provider = PROVIDERS[model.provider];
    const timeoutMs = call.stream ? policy.connectTimeoutMs : policy.firstByteTimeoutMs;
    const native = call.native(model);
    const answer: ForwardResult | ChatResult = native
      ? await attempt.within(
          timeoutMs,
          provider.forward!({
            api: call.api,
            model: model.model,
            raw: call.raw,
            body: call.body,
            stream: call.stream,
            headers: call.headers,
            promptCacheSalt: salt,
            env: c.env,
            signal: attempt.signal,
          }),
        )
      : await attempt.within(
          timeoutMs,
          provider.chat({
            model: model.model,
            body: call.translation(),
            env: c.env,
            signal: attempt.signal,
            promptCacheKey: `tenant-${tenantId}`,
            promptCacheSalt: salt,
          }),
        );
    return answer.kind === 'stream' ? { ...answer, native, parts: await firstPart(answer.parts, attempt, policy.firstByteTimeoutMs) } : { ...answer, native };
  });
}
