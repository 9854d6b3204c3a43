/**
 * Which calls shadow evaluation takes, decided on the request path before the answer starts (a
 * streamed answer must then be assembled for the judge): a fraction `shadow_eval_rate` of the
 * tenant's calls, whatever API they came in by, chosen by a hash of the request id, so that the
 * choice is uniform, reproducible from the log, and testable without stubbing a random source.
 * A call is evaluated in the internal form (Chat Completions), which each endpoint makes of its
 * request. Calls whose data should not be sent to another model without the tenant's say (tools,
 * images, `store: false`) are left out unless the tenant includes them. Costs a hash and, for a
 * sampled call, its internal form and one reading of the routing rules: microseconds.
 */
import type { Env } from '../core/env';
import { unitHash } from '../core/hash';
import type { ChatMessage, ChatRequest } from '../providers/types';
import { imagesIn } from '../providers/content';
import { decideTier } from '../routing/tiers';
import type { ShadowEvalKind, TenantSettings } from '../tenants/schemas';
import type { Position } from './verdict';

/** A call as evaluation reads it, whatever API it came in by. */
export interface Evaluable {
  /** The call in the internal form: what the other tier's model is asked, and the judge shown. */
  request: ChatRequest;
  /** The client marked the call private: `store: false` (Chat Completions, Responses). */
  unstored: boolean;
  /** The client's answer, as sent in its API (or assembled from its stream), as the internal form's assistant message. */
  answer: (json: string) => ChatMessage | null;
}

/** A call taken for evaluation: the call, its task and the rate it was sampled at. */
export interface EvaluationSubject extends Evaluable {
  /** The x-task, or `rule:<id>` when the router's rules read the request. */
  task: string;
  rate: number;
}

/** Whether the call with this id is in a sample of `rate` (0 never, 1 always). */
export const sampledAt = (requestId: string, rate: number) => unitHash(`sample:${requestId}`) < rate;

/** Where the judge sees the cheap answer: A or B, half the calls each, independent of sampling. */
export const cheapPositionOf = (requestId: string): Position => (unitHash(`position:${requestId}`) < 0.5 ? 'A' : 'B');

const hasImages = (body: ChatRequest) => body.messages.some((m) => imagesIn(m.content) > 0);

const hasTools = (body: ChatRequest) =>
  (body.tools?.length ?? 0) > 0 || body.messages.some((m) => (m.tool_calls?.length ?? 0) > 0 || m.role === 'tool' || m.role === 'function');

/** The kinds of call this is that evaluation leaves out by default. */
export function kindsOf(call: Evaluable): ShadowEvalKind[] {
  const kinds: ShadowEvalKind[] = [];
  if (hasTools(call.request)) kinds.push('tools');
  if (hasImages(call.request)) kinds.push('images');
  if (call.unstored) kinds.push('unstored');
  return kinds;
}

/** The kinds the tenant includes that the operator allows: `unstored` only with EVAL_ALLOW_UNSTORED=true. */
export function includedKinds(env: Env, include: readonly ShadowEvalKind[]): Set<ShadowEvalKind> {
  const allowUnstored = env.EVAL_ALLOW_UNSTORED?.trim().toLowerCase() === 'true';
  return new Set(include.filter((kind) => kind !== 'unstored' || allowUnstored));
}

/**
 * The call as an evaluation subject, or null when it is not sampled, is of a kind left out, or
 * cannot be put in the internal form. `evaluable` is asked only for a sampled call, and may
 * throw what cannot be translated (a built-in tool, a file kept upstream): another model cannot
 * be asked such a call. Settings read from an older key entry may lack the evaluation fields:
 * they count as off.
 */
export function evaluationSubject(
  env: Env,
  tenant: Pick<TenantSettings, 'shadow_eval_rate' | 'shadow_eval_include'>,
  requestId: string,
  evaluable: () => Evaluable,
  taskHint: string | null,
): EvaluationSubject | null {
  const rate = tenant.shadow_eval_rate ?? 0;
  if (!sampledAt(requestId, rate)) return null;
  let call: Evaluable;
  try {
    call = evaluable();
  } catch {
    return null;
  }
  const included = includedKinds(env, tenant.shadow_eval_include ?? []);
  if (kindsOf(call).some((kind) => !included.has(kind))) return null;
  const { reason } = decideTier(call.request, taskHint);
  return { ...call, task: reason.startsWith('task:') ? reason.slice('task:'.length) : reason, rate };
}
