/**
 * Picks the tier for a chat call. The app's own hint wins (`x-task`); without one, a fast
 * rule-based reading of the request decides. Rules are data, tried in order, first match
 * wins; the last one is the default. Cheap is the default because most production calls
 * (classification, extraction, short answers) do not need the expensive model, and the
 * team's target is 70% or more of tokens on the cheap tier.
 */
import { invalidRequest } from '../core/errors';
import { resolveModel, type ResolvedModel, type Tiers } from './models';
import type { Tier } from '../pricing/catalog';
import { estimatePromptTokens, messageText } from '../providers/content';
import type { ChatRequest } from '../providers/types';
import type { Env } from '../core/env';
import { TASK_TIERS, type TaskTiers } from './tasks';

/** What the rules look at, computed in one pass over the request. */
export interface RequestFeatures {
  /** The last user message's text, lower-cased, at most SCAN_CHARS characters. */
  lastUserText: string;
  promptTokens: number;
  maxTokens: number | null;
  jsonOutput: boolean;
  toolCount: number;
}

/** One condition; a rule matches when all of its conditions hold. */
export interface RuleConditions {
  jsonOutput?: true;
  hasTools?: true;
  maxTokensAtMost?: number;
  promptTokensAtLeast?: number;
  /** Matched against the last user message (lower-cased). */
  lastUserMatches?: RegExp;
}

export interface RoutingRule {
  id: string;
  tier: Tier;
  why: string;
  when: RuleConditions;
}

/** Only the start of a long message is scanned: the signal is in the instruction, and it bounds the CPU cost. */
const SCAN_CHARS = 4000;

export const ROUTING_RULES: readonly RoutingRule[] = [
  {
    id: 'code',
    tier: 'expensive',
    why: 'writing, fixing or reviewing code',
    when: {
      lastUserMatches:
        /```|\b(refactor|debug|stack ?trace|traceback|compile|implement|unit tests?|write (a |the )?(function|class|script|program|code|query)|fix (this|the|my) (bug|code|error))\b/,
    },
  },
  {
    id: 'structured-output',
    tier: 'cheap',
    why: 'JSON output: extraction and classification',
    when: { jsonOutput: true },
  },
  {
    id: 'reasoning',
    tier: 'expensive',
    why: 'multi-step reasoning, analysis or planning',
    when: {
      lastUserMatches:
        /\b(step[- ]by[- ]step|prove|proof|derive|reason (about|through)|analy[sz]e|trade-?offs?|pros and cons|design (a|an|the)|architect|strategy|plan (a|an|the|for)|evaluate|critique|compare .{0,40} (and|with|to|vs\.?))\b/,
    },
  },
  {
    id: 'cheap-task',
    tier: 'cheap',
    why: 'classify, extract, summarize, translate, label or moderate',
    when: {
      lastUserMatches:
        /\b(classify|categori[sz]e|extract|summari[sz]e|tl;?dr|translate|label|tag|sentiment|moderate|detect|is (this|it) (spam|toxic|safe)|yes or no|true or false)\b/,
    },
  },
  {
    id: 'short-output',
    tier: 'cheap',
    why: 'a short answer (max_tokens of 256 or less)',
    when: { maxTokensAtMost: 256 },
  },
  {
    id: 'agent-tools',
    tier: 'expensive',
    why: 'an agent step with several tools to choose from',
    when: { hasTools: true, promptTokensAtLeast: 2000 },
  },
  {
    id: 'long-context',
    tier: 'expensive',
    why: 'a long prompt (8,000 tokens or more) with an open-ended question',
    when: { promptTokensAtLeast: 8000 },
  },
  { id: 'default', tier: 'cheap', why: 'nothing calls for the expensive tier', when: {} },
];

export function requestFeatures(body: ChatRequest): RequestFeatures {
  let lastUser = '';
  for (let i = body.messages.length - 1; i >= 0; i--) {
    if (body.messages[i].role === 'user') {
      lastUser = messageText(body.messages[i].content);
      break;
    }
  }
  const format = (body.response_format as { type?: string } | undefined)?.type;
  return {
    lastUserText: lastUser.slice(0, SCAN_CHARS).toLowerCase(),
    promptTokens: estimatePromptTokens(body.messages),
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? null,
    jsonOutput: format === 'json_object' || format === 'json_schema',
    toolCount: body.tools?.length ?? 0,
  };
}

function matches(when: RuleConditions, f: RequestFeatures): boolean {
  return (
    (when.jsonOutput === undefined || f.jsonOutput) &&
    (when.hasTools === undefined || f.toolCount > 0) &&
    (when.maxTokensAtMost === undefined || (f.maxTokens !== null && f.maxTokens <= when.maxTokensAtMost)) &&
    (when.promptTokensAtLeast === undefined || f.promptTokens >= when.promptTokensAtLeast) &&
    (when.lastUserMatches === undefined || when.lastUserMatches.test(f.lastUserText))
  );
}

export interface TierDecision {
  tier: Tier;
  /** `task:<hint>` or `rule:<id>`; `task:<hint>+override:<tier>` when the tenant overrides that task's tier. */
  reason: string;
}

/**
 * The task an `x-task` header names (trimmed, lower-cased), or null when the call sends none.
 * An unknown task is a 400 naming `x-task` on every call that reads the header, whatever its
 * model: a typo must not pass unnoticed just because this call's model made the hint moot.
 */
export function taskOf(taskHint: string | null | undefined): string | null {
  if (!taskHint) return null;
  const task = taskHint.trim().toLowerCase();
  // Own keys only: `__proto__` or `constructor` must be unknown tasks, not Object's.
  if (!Object.hasOwn(TASK_TIERS, task)) {
    throw invalidRequest(`Unknown x-task '${taskHint.slice(0, 40)}'. Use one of: ${Object.keys(TASK_TIERS).join(', ')}.`, 'x-task', 'invalid_task');
  }
  return task;
}

/**
 * The tier for a task already checked by taskOf (the tenant's override for it, if any), or from
 * the rules without one.
 */
function tierFor(body: ChatRequest, task: string | null, taskTiers: TaskTiers = {}): TierDecision {
  const override = task && Object.hasOwn(taskTiers, task) ? taskTiers[task] : undefined;
  if (task && override) return { tier: override, reason: `task:${task}+override:${override}` };
  if (task) return { tier: TASK_TIERS[task], reason: `task:${task}` };
  const features = requestFeatures(body);
  const rule = ROUTING_RULES.find((r) => matches(r.when, features))!;
  return { tier: rule.tier, reason: `rule:${rule.id}` };
}

/** The tier for this call, from the `x-task` hint or the rules. */
export function decideTier(body: ChatRequest, taskHint: string | null): TierDecision {
  return tierFor(body, taskOf(taskHint));
}

/**
 * The model for a chat call. `auto` goes wherever the task decides. A concrete model is kept
 * as asked, unless the tenant's routing is `auto`: then the asked model is the ceiling, so a
 * cheap task asked of an expensive model goes to the cheap tier, never the other way round.
 * The `x-task` hint is checked first, whether or not it decides anything. `taskTiers`, the
 * tenant's per-task overrides, replace a hinted task's tier wherever the task decides.
 */
export function routeChat(
  env: Env,
  tiers: Tiers,
  routing: 'auto' | 'passthrough',
  body: ChatRequest,
  taskHint: string | null,
  taskTiers?: TaskTiers,
): ResolvedModel {
  const task = taskOf(taskHint);
  if (body.model === 'auto') {
    const decision = tierFor(body, task, taskTiers);
    return { ...resolveModel(env, tiers, tiers[decision.tier], 'chat'), requested: 'auto', tier: decision.tier, reason: decision.reason };
  }
  const asked = resolveModel(env, tiers, body.model, 'chat');
  if (routing !== 'auto' || asked.reason.startsWith('alias:')) return asked;
  const decision = tierFor(body, task, taskTiers);
  if (decision.tier === 'cheap' && asked.tier === 'expensive') {
    return { ...resolveModel(env, tiers, tiers.cheap, 'chat'), requested: body.model, tier: 'cheap', reason: decision.reason };
  }
  return { ...asked, reason: decision.tier === asked.tier ? decision.reason : `${decision.reason}+ceiling` };
}
