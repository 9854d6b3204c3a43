/**
 * Which calls shadow evaluation takes, decided on the request path before the answer starts (a
 * streamed answer must then be assembled for the judge): a fraction `shadow_eval_rate` of the
 * tenant's chat calls, chosen by a hash of the request id, so that the choice is uniform,
 * reproducible from the log, and testable without stubbing a random source. Calls whose data
 * should not be sent to another model without the tenant's say (tools, images, `store: false`)
 * are left out unless the tenant includes them. Costs a hash and, for a sampled call, one reading
 * of the routing rules: microseconds.
 */
import type { Env } from '../core/env';
import { unitHash } from '../core/hash';
import type { ChatRequest } from '../providers/types';
import { decideTier } from '../routing/tiers';
import type { ShadowEvalKind, TenantSettings } from '../tenants/schemas';
import type { Position } from './verdict';

/** A call taken for evaluation: the request to run again, its task and the rate it was sampled at. */
export interface EvaluationSubject {
  request: ChatRequest;
  /** The x-task, or `rule:<id>` when the router's rules read the request. */
  task: string;
  rate: number;
}

/** Whether the call with this id is in a sample of `rate` (0 never, 1 always). */
export const sampledAt = (requestId: string, rate: number) => unitHash(`sample:${requestId}`) < rate;

/** Where the judge sees the cheap answer: A or B, half the calls each, independent of sampling. */
export const cheapPositionOf = (requestId: string): Position => (unitHash(`position:${requestId}`) < 0.5 ? 'A' : 'B');

const hasImages = (body: ChatRequest) =>
  body.messages.some(
    (m) => Array.isArray(m.content) && m.content.some((part: { type?: unknown }) => part?.type === 'image_url' || part?.type === 'input_image'),
  );

const hasTools = (body: ChatRequest) =>
  (body.tools?.length ?? 0) > 0 || body.messages.some((m) => (m.tool_calls?.length ?? 0) > 0 || m.role === 'tool' || m.role === 'function');

/** The kinds of call this request is that evaluation leaves out by default. */
export function kindsOf(body: ChatRequest): ShadowEvalKind[] {
  const kinds: ShadowEvalKind[] = [];
  if (hasTools(body)) kinds.push('tools');
  if (hasImages(body)) kinds.push('images');
  if (body.store === false) kinds.push('unstored');
  return kinds;
}

/** The kinds the tenant includes that the operator allows: `unstored` only with EVAL_ALLOW_UNSTORED=true. */
export function includedKinds(env: Env, include: readonly ShadowEvalKind[]): Set<ShadowEvalKind> {
  const allowUnstored = env.EVAL_ALLOW_UNSTORED?.trim().toLowerCase() === 'true';
  return new Set(include.filter((kind) => kind !== 'unstored' || allowUnstored));
}

/**
 * The call as an evaluation subject, or null when it is not sampled or is of a kind left out.
 * Settings read from an older key entry may lack the evaluation fields: they count as off.
 */
export function evaluationSubject(
  env: Env,
  tenant: Pick<TenantSettings, 'shadow_eval_rate' | 'shadow_eval_include'>,
  requestId: string,
  body: ChatRequest,
  taskHint: string | null,
): EvaluationSubject | null {
  const rate = tenant.shadow_eval_rate ?? 0;
  if (!sampledAt(requestId, rate)) return null;
  const included = includedKinds(env, tenant.shadow_eval_include ?? []);
  if (kindsOf(body).some((kind) => !included.has(kind))) return null;
  const { reason } = decideTier(body, taskHint);
  return { request: body, task: reason.startsWith('task:') ? reason.slice('task:'.length) : reason, rate };
}
