/**
 * Shadow evaluation of a sampled call, once its answer is the client's and its row is written
 * (pipeline/call.ts hands this to waitUntil, so the client never waits for it): the same request
 * on the other tier's model, then the judge on the two answers, and the verdict stored with both
 * answers' costs. The two calls go through the provider layer directly, not the proxy's pipeline:
 * they are the operator's, not the tenant's, so no tenant limit, budget or request-log row sees
 * them. They are priced from the pricing catalog (overrides included) and their spend is stored
 * with the evaluation, capped per month by EVAL_BUDGET_USD: checked before each evaluation, so
 * evaluations already under way when the cap is reached may overshoot it by their own cost.
 */
import type { Env } from '../core/env';
import { randomToken } from '../core/ids';
import type { RequestRecord } from '../core/request-record';
import { ZERO_USAGE, type Usage } from '../core/usage';
import { costNano, type Tier } from '../pricing/catalog';
import { effectivePrice } from '../pricing/overrides';
import { PROVIDERS } from '../providers';
import { promptCacheSalt } from '../providers/prompt-cache-salt';
import { resolveModel, tiersFor, type ResolvedModel } from '../routing/models';
import type { TenantContext } from '../tenants/schemas';
import { answerText, askJudge, completionMessage } from './judge';
import { cheapPositionOf, type EvaluationSubject } from './sampling';
import { evalBudgetNano, evalSpendThisMonth, insertEvaluation, type EvaluationRow } from './store';

/**
 * How long an evaluation (the shadow call and the judge) may take: a Worker's waitUntil work is
 * cut off 30 s after its response has ended, and the row must be written before that.
 */
export const EVAL_TIMEOUT_MS = 25_000;

/** A call whose answer the client has, and what is needed to evaluate it. */
export interface EvaluatedCall {
  env: Env;
  tenant: TenantContext;
  record: RequestRecord;
  subject: EvaluationSubject;
  /** The answer the client got, in its API (assembled from the stream when streamed); null when none was complete. */
  answerJson: string | null;
}

const spent = (usage: Usage, model: ResolvedModel) => ({
  // costNano picks the rates the usage calls for: its service tier, long context, region.
  costNano: model.price ? costNano(usage, model.price) : 0,
  promptTokens: usage.promptTokens,
  completionTokens: usage.completionTokens,
});

const failureText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** A model of this tenant's (a tier alias, or JUDGE_MODEL) with its price in force; null when it has none, so its spend could not be counted. */
async function pricedModel(env: Env, tenant: TenantContext, name: string): Promise<ResolvedModel | null> {
  const model = resolveModel(env, tiersFor(env, tenant.tenant), name, 'chat');
  model.price = await effectivePrice(env, model.id, model.price);
  return model.price ? model : null;
}

/** Evaluates one sampled call and stores the verdict. Never throws: an evaluation that cannot be made is logged and dropped. */
export async function evaluateCall(call: EvaluatedCall): Promise<void> {
  try {
    await evaluate(call);
  } catch (error) {
    console.error('shadow evaluation failed', call.record.id, failureText(error));
  }
}

async function evaluate({ env, tenant, record, subject, answerJson }: EvaluatedCall): Promise<void> {
  // Only answers the client got from an upstream, whole, are evaluated.
  if (record.status !== 200 || record.cache === 'HIT' || answerJson === null) return;
  if (record.tier !== 'cheap' && record.tier !== 'expensive') return;
  const served = answerText(subject.answer(answerJson));
  if (served === null) return;
  const budget = evalBudgetNano(env);
  if (budget !== null && (await evalSpendThisMonth(env)) >= budget) return;

  const servedTier: Tier = record.tier;
  const otherTier: Tier = servedTier === 'cheap' ? 'expensive' : 'cheap';
  const tiers = tiersFor(env, tenant.tenant);
  const [other, judge] = await Promise.all([pricedModel(env, tenant, otherTier), pricedModel(env, tenant, env.JUDGE_MODEL?.trim() || tiers.expensive)]);
  // Unpriced, the evaluation's spend could not be counted against the cap; the same model on both tiers has nothing to compare.
  if (!other || !judge || other.id === record.model) return;

  const signal = AbortSignal.timeout(EVAL_TIMEOUT_MS);
  const cheapPosition = cheapPositionOf(record.id);
  const { stream: _stream, stream_options: _options, ...request } = subject.request;
  const row: EvaluationRow = {
    id: `eval_${randomToken(20)}`,
    requestId: record.id,
    ts: record.ts,
    evaluatedAt: 0,
    tenantId: record.tenantId,
    task: subject.task,
    servedTier,
    sampleRate: subject.rate,
    cheapModel: servedTier === 'cheap' ? (record.model ?? '') : other.id,
    expensiveModel: servedTier === 'expensive' ? (record.model ?? '') : other.id,
    cheapCostNano: 0,
    expensiveCostNano: 0,
    shadow: spent(ZERO_USAGE, other),
    judgeModel: judge.id,
    judge: spent(ZERO_USAGE, judge),
    cheapPosition,
    verdict: 'failed',
    reason: null,
  };
  const store = (costs: { served: number; other: number }) => {
    row.cheapCostNano = servedTier === 'cheap' ? costs.served : costs.other;
    row.expensiveCostNano = servedTier === 'expensive' ? costs.served : costs.other;
    row.evaluatedAt = Date.now();
    return insertEvaluation(env, row);
  };

  let shadowAnswer: string | null;
  try {
    const answer = await PROVIDERS[other.provider].chat({
      model: other.model,
      body: { ...request, model: other.model },
      env,
      signal,
      promptCacheKey: `tenant-${tenant.tenantId}`,
      promptCacheSalt: promptCacheSalt(tenant),
    });
    if (answer.kind !== 'completion') throw new Error('the shadow call answered with a stream');
    row.shadow = spent(answer.usage, other);
    shadowAnswer = answerText(completionMessage(answer.json));
  } catch (error) {
    row.reason = `The shadow call to ${other.id} failed: ${failureText(error)}`;
    return store({ served: record.costNano, other: 0 });
  }
  if (shadowAnswer === null) {
    row.reason = `${other.id} gave an empty answer.`;
    return store({ served: record.costNano, other: row.shadow.costNano });
  }

  const [cheap, expensive] = servedTier === 'cheap' ? [served, shadowAnswer] : [shadowAnswer, served];
  try {
    const judged = await askJudge(env, judge, { task: subject.task, request, cheap, expensive, cheapPosition }, signal);
    row.judge = spent(judged.usage, judge);
    row.verdict = judged.verdict;
    row.reason = judged.reason;
  } catch (error) {
    row.reason = `The judge ${judge.id} failed: ${failureText(error)}`;
  }
  await store({ served: record.costNano, other: row.shadow.costNano });
}
