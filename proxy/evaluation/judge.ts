/**
 * The judge: a model asked, through the provider layer, which of two answers serves the task
 * better, made to answer by calling one tool whose arguments are the verdict (verdict.ts). An
 * answer that is not such a call with valid arguments is `invalid`, never guessed at. The judge is
 * a model, not ground truth: docs/ROUTING.md says what that means for the numbers.
 */
import type { Env } from '../core/env';
import type { Usage } from '../core/usage';
import { messageText } from '../providers/content';
import { PROVIDERS } from '../providers';
import type { ChatCompletion, ChatMessage, ChatRequest } from '../providers/types';
import type { ResolvedModel } from '../routing/models';
import { JUDGE_INSTRUCTIONS, JudgeAnswerSchema, judgePrompt, VERDICT_PARAMETERS, VERDICT_TOOL, verdictOf, type Position, type Verdict } from './verdict';

/**
 * Characters of the conversation and of each answer the judge reads: enough for the calls worth
 * routing cheaply, and a bound on what an evaluation costs. The conversation keeps its end.
 */
const MAX_CONVERSATION_CHARS = 12_000;
const MAX_ANSWER_CHARS = 8_000;

/** The conversation as the judge reads it: one `role: text` paragraph a message, its end kept. */
function conversationText(request: ChatRequest): string {
  const text = request.messages.map((m) => `${m.role}: ${messageText(m.content) || JSON.stringify(m.tool_calls ?? m.content ?? '')}`).join('\n\n');
  return text.length > MAX_CONVERSATION_CHARS ? `[…]${text.slice(-MAX_CONVERSATION_CHARS)}` : text;
}

/** A chat.completion's assistant message: the answer of a Chat Completions call, and of the shadow call. */
export const completionMessage = (completionJson: string): ChatMessage | null => (JSON.parse(completionJson) as ChatCompletion).choices?.[0]?.message ?? null;

/** An answer's text: its content, else its tool calls as JSON; null when there is neither. */
export function answerText(message: ChatMessage | null): string | null {
  const text = messageText(message?.content) || (message?.tool_calls?.length ? JSON.stringify(message.tool_calls) : '');
  return text ? text.slice(0, MAX_ANSWER_CHARS) : null;
}

/** The judge's request: its instructions, the task, the conversation, the two answers, and the one tool it must call. */
export function judgeRequest(model: string, task: string, request: ChatRequest, a: string, b: string): ChatRequest {
  return {
    model,
    messages: [
      { role: 'system', content: JUDGE_INSTRUCTIONS },
      { role: 'user', content: judgePrompt(task, conversationText(request), a, b) },
    ],
    tools: [{ type: 'function', function: { name: VERDICT_TOOL, description: 'Record which answer serves the task better.', parameters: VERDICT_PARAMETERS } }],
    tool_choice: { type: 'function', function: { name: VERDICT_TOOL } },
  };
}

/** What the judge's completion says, from the cheap answer's side; `invalid` with what was wrong when it is not a verdict. */
export function readVerdict(completionJson: string, cheapPosition: Position): { verdict: Verdict; reason: string } {
  const message = (JSON.parse(completionJson) as ChatCompletion).choices?.[0]?.message;
  const call = message?.tool_calls?.find((c) => c.function.name === VERDICT_TOOL);
  if (!call) return { verdict: 'invalid', reason: `The judge did not call ${VERDICT_TOOL}: ${(message?.content ?? '').slice(0, 200)}` };
  let args: unknown;
  try {
    args = JSON.parse(call.function.arguments);
  } catch {
    return { verdict: 'invalid', reason: `The judge's arguments are not JSON: ${call.function.arguments.slice(0, 200)}` };
  }
  const parsed = JudgeAnswerSchema.safeParse(args);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { verdict: 'invalid', reason: `The judge's arguments are not a verdict (${issue.path.join('.') || 'arguments'}: ${issue.message}).` };
  }
  return { verdict: verdictOf(parsed.data, cheapPosition), reason: parsed.data.reason };
}

/** Asks `judge` to compare the cheap and the expensive answer, the cheap one shown at `cheapPosition`. */
export async function askJudge(
  env: Env,
  judge: ResolvedModel,
  compared: { task: string; request: ChatRequest; cheap: string; expensive: string; cheapPosition: Position },
  signal: AbortSignal,
): Promise<{ verdict: Verdict; reason: string; usage: Usage }> {
  const [a, b] = compared.cheapPosition === 'A' ? [compared.cheap, compared.expensive] : [compared.expensive, compared.cheap];
  const answer = await PROVIDERS[judge.provider].chat({
    model: judge.model,
    body: judgeRequest(judge.model, compared.task, compared.request, a, b),
    env,
    signal,
  });
  if (answer.kind !== 'completion') throw new Error('the judge answered with a stream');
  return { ...readVerdict(answer.json, compared.cheapPosition), usage: answer.usage };
}
