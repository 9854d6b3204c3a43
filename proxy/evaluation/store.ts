/**
 * Evaluations in D1 (migrations/0021): one row each, linked to the call it evaluates, and the
 * month's evaluation spend, kept exact by the row's insert (a trigger), which the operator's
 * cap (EVAL_BUDGET_USD) is checked against before each evaluation. Evaluation spend lives here
 * and nowhere in the request log, so no tenant's spend, budget or limits ever see it.
 */
import { numberVar } from '../core/config';
import type { Env } from '../core/env';
import { monthOf } from '../limits/budget';
import type { Tier } from '../pricing/catalog';
import type { Position, Verdict } from './verdict';

/** One evaluation as stored. Costs in nano-USD. */
export interface EvaluationRow {
  id: string;
  requestId: string;
  ts: number;
  evaluatedAt: number;
  tenantId: string;
  task: string;
  servedTier: Tier;
  sampleRate: number;
  cheapModel: string;
  expensiveModel: string;
  cheapCostNano: number;
  expensiveCostNano: number;
  shadow: { costNano: number; promptTokens: number; completionTokens: number };
  judgeModel: string;
  judge: { costNano: number; promptTokens: number; completionTokens: number };
  cheapPosition: Position;
  verdict: Verdict;
  reason: string | null;
}

/** Reasons are for people reading a table: a judge or an upstream error could send far more. */
const MAX_REASON_CHARS = 500;

export async function insertEvaluation(env: Env, e: EvaluationRow): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO evaluations (id, request_id, ts, evaluated_at, tenant_id, task, served_tier, sample_rate, cheap_model, expensive_model,
       cheap_cost_nano, expensive_cost_nano, shadow_cost_nano, shadow_prompt_tokens, shadow_completion_tokens,
       judge_model, judge_cost_nano, judge_prompt_tokens, judge_completion_tokens, cheap_position, verdict, reason)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(
      e.id,
      e.requestId,
      e.ts,
      e.evaluatedAt,
      e.tenantId,
      e.task,
      e.servedTier,
      e.sampleRate,
      e.cheapModel,
      e.expensiveModel,
      e.cheapCostNano,
      e.expensiveCostNano,
      e.shadow.costNano,
      e.shadow.promptTokens,
      e.shadow.completionTokens,
      e.judgeModel,
      e.judge.costNano,
      e.judge.promptTokens,
      e.judge.completionTokens,
      e.cheapPosition,
      e.verdict,
      e.reason?.slice(0, MAX_REASON_CHARS) ?? null,
    )
    .run();
}

/** Evaluation spend of the UTC month `now` falls in, all tenants together, in nano-USD. */
export async function evalSpendThisMonth(env: Env, now = Date.now()): Promise<number> {
  const row = await env.DB.prepare('SELECT spent_nano FROM eval_spend WHERE month = ?').bind(monthOf(now)).first<{ spent_nano: number }>();
  return row?.spent_nano ?? 0;
}

/** The operator's monthly cap on evaluation spend (EVAL_BUDGET_USD) in nano-USD, or null for none. */
export function evalBudgetNano(env: Env): number | null {
  const usd = numberVar(env.EVAL_BUDGET_USD, -1);
  return usd >= 0 ? Math.round(usd * 1e9) : null;
}
