/**
 * What a judge is asked and how it must answer, defined once: the prompt's layout (the task, the
 * conversation, answers A and B) and the forced tool whose arguments are the verdict. The judge
 * (judge.ts) writes and reads these; the mock provider's simulated judge reads the same prompt
 * (providers/mock/judge.ts), so the demo's verdicts go through the real parsing path.
 */
import { z } from 'zod';

/** The tool the judge is made to call: its arguments are the verdict (structured output on every provider that has tools). */
export const VERDICT_TOOL = 'record_verdict';

/** The judge's answer: which answer is better for the task, or `same`, and why, briefly. */
export const JudgeAnswerSchema = z.strictObject({
  better: z.enum(['A', 'B', 'same']).describe('The answer that serves the task better, or same when neither is better for it.'),
  reason: z.string().min(1).max(500).describe('One or two sentences: what decided it.'),
});
export type JudgeAnswer = z.infer<typeof JudgeAnswerSchema>;

/** The tool's parameters: the JSON Schema of JudgeAnswerSchema. */
export const VERDICT_PARAMETERS: Record<string, unknown> = (() => {
  const { $schema: _, ...schema } = z.toJSONSchema(JudgeAnswerSchema);
  return schema;
})();

/** Where the judge saw the cheap tier's answer. */
export type Position = 'A' | 'B';

/** The stored verdict, from the cheap tier's side; `invalid`: the judge answered, but not a verdict; `failed`: no answer to judge. */
export type Verdict = 'same' | 'cheap_worse' | 'cheap_better' | 'invalid' | 'failed';

/** A valid judge answer as a verdict on the cheap answer, given where the cheap answer was. */
export function verdictOf(answer: JudgeAnswer, cheapPosition: Position): Verdict {
  if (answer.better === 'same') return 'same';
  return answer.better === cheapPosition ? 'cheap_better' : 'cheap_worse';
}

export const JUDGE_INSTRUCTIONS = [
  'You compare two answers to the same request and decide whether one serves the task better.',
  'Judge only what the task needs: correctness, completeness for the task, and following the instructions.',
  'Length, style and the order in which the answers are shown are not merits. If both would serve the user equally well, answer same.',
  `Record your decision by calling ${VERDICT_TOOL}.`,
].join(' ');

/** The judge's user message: the task, the conversation so far, then the two answers, each fenced by its tag. */
export const judgePrompt = (task: string, conversation: string, a: string, b: string) =>
  `Task: ${task}\n\n<conversation>\n${conversation}\n</conversation>\n\n<answer_a>\n${a}\n</answer_a>\n\n<answer_b>\n${b}\n</answer_b>`;

/** The parts of a judge prompt, or null when `text` is not one. */
export function readJudgePrompt(text: string): { task: string; a: string; b: string } | null {
  const match = /^Task: (\S+)\n[\s\S]*<answer_a>\n([\s\S]*)\n<\/answer_a>\n\n<answer_b>\n([\s\S]*)\n<\/answer_b>$/.exec(text);
  return match ? { task: match[1], a: match[2], b: match[3] } : null;
}
