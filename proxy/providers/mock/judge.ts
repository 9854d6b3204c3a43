/**
 * The mock provider as a judge (evaluation/verdict.ts), so that shadow evaluation has verdicts to
 * show on a fresh machine: asked to call the verdict tool, it reads the task and the two answers
 * from the judge's prompt and answers with valid arguments, decided by a hash of the prompt. It
 * simulates a judge for whom some tasks need depth: mock-large elaborates (its answers are longer,
 * see index.ts), and the chance that the shorter answer is called worse is the task's demand for
 * depth below (classification almost never, code most of the time); otherwise the answers are the
 * same, but for a few calls that find the shorter one better. Deterministic, not a model.
 */
import { unitHash } from '../../core/hash';
import { readJudgePrompt, type JudgeAnswer } from '../../evaluation/verdict';

/** The chance, per task, that the simulated judge finds the shorter answer worse. */
const DEPTH_DEMAND: Record<string, number> = {
  classify: 0.03,
  extract: 0.06,
  route: 0.03,
  moderate: 0.03,
  summarize: 0.25,
  generate: 0.45,
  analyze: 0.55,
  reason: 0.65,
  code: 0.75,
};
/** Tasks the router's rules decided (`rule:<id>`), and any other. */
const DEFAULT_DEMAND = 0.2;
/** The chance that the shorter answer is found better. */
const SHORTER_BETTER = 0.03;

/** The verdict tool's arguments (JSON) for a judge prompt; `{}` for any other text, as for any other tool. */
export function mockVerdictArguments(prompt: string): string {
  const read = readJudgePrompt(prompt);
  if (!read) return '{}';
  const shorter = read.a.length === read.b.length ? null : read.a.length < read.b.length ? 'A' : 'B';
  const longer = shorter === 'A' ? 'B' : 'A';
  const demand = DEPTH_DEMAND[read.task] ?? DEFAULT_DEMAND;
  const draw = unitHash(prompt);
  const answer: JudgeAnswer =
    shorter && draw < demand
      ? { better: longer, reason: `Answer ${longer} covers what the ${read.task} task needs; answer ${shorter} leaves part of it out.` }
      : shorter && draw > 1 - SHORTER_BETTER
        ? { better: shorter, reason: `Answer ${shorter} says the same in fewer words.` }
        : { better: 'same', reason: `Both answers serve the ${read.task} task equally well.` };
  return JSON.stringify(answer);
}
