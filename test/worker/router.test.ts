import { describe, expect, it } from 'vitest';
import type { ChatRequest } from '../../proxy/providers/types';
import { decideTier, ROUTING_RULES } from '../../proxy/routing/tiers';
import { TASK_TIERS } from '../../proxy/routing/tasks';

const user = (content: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({ model: 'auto', messages: [{ role: 'user', content }], ...extra });
const tool = { type: 'function', function: { name: 'search', parameters: { type: 'object', properties: {} } } };
const longContext = 'Background material. '.repeat(2000); // ~10k tokens

/** The table of example requests the rules are held to: [what, request, tier, reason]. */
const EXAMPLES: Array<[string, ChatRequest, 'cheap' | 'expensive', string]> = [
  ['a plain question', user('What is the capital of France?'), 'cheap', 'rule:default'],
  ['a greeting', user('Hello there!'), 'cheap', 'rule:default'],
  ['classification by wording', user('Classify this ticket as billing, bug or other: "I was charged twice"'), 'cheap', 'rule:cheap-task'],
  ['extraction by wording', user('Extract the invoice number and total from the text below.'), 'cheap', 'rule:cheap-task'],
  ['summarization', user('Summarize this meeting transcript in three bullet points.'), 'cheap', 'rule:cheap-task'],
  ['translation', user('Translate "good morning" into German.'), 'cheap', 'rule:cheap-task'],
  ['moderation', user('Is this toxic? "you are all idiots"'), 'cheap', 'rule:cheap-task'],
  ['JSON mode', user('Give me the fields of this address.', { response_format: { type: 'json_object' } }), 'cheap', 'rule:structured-output'],
  [
    'JSON schema even with "analyze"',
    user('Analyze the sentiment of this review.', { response_format: { type: 'json_schema', json_schema: { name: 's', schema: {} } } }),
    'cheap',
    'rule:structured-output',
  ],
  ['a short answer', user('Name a colour.', { max_tokens: 16 }), 'cheap', 'rule:short-output'],
  ['a code block', user('Why does this fail?\n```js\nconst x = undefined.y;\n```'), 'expensive', 'rule:code'],
  ['writing a function', user('Write a function that parses ISO dates in TypeScript.'), 'expensive', 'rule:code'],
  ['refactoring', user('Refactor this class to use composition.'), 'expensive', 'rule:code'],
  ['a stack trace', user('I get this traceback when I start the server, what is wrong?'), 'expensive', 'rule:code'],
  ['step by step', user('Solve this step by step: a train leaves at 9...'), 'expensive', 'rule:reasoning'],
  ['trade-offs', user('What are the trade-offs between Postgres and DynamoDB for this workload?'), 'expensive', 'rule:reasoning'],
  ['a design', user('Design a rate limiter for a multi-region API.'), 'expensive', 'rule:reasoning'],
  ['analysis', user('Analyze the causes of the 2008 financial crisis.'), 'expensive', 'rule:reasoning'],
  ['code beats short max_tokens', user('Fix this bug: ```x = 1 +```', { max_tokens: 100 }), 'expensive', 'rule:code'],
  [
    'an agent step with a long history',
    {
      model: 'auto',
      messages: [
        { role: 'system', content: 'Agent instructions. '.repeat(500) },
        { role: 'user', content: 'Next step?' },
      ],
      tools: [tool],
    },
    'expensive',
    'rule:agent-tools',
  ],
  ['a single tool call on a short prompt', user('What is the weather in Paris?', { tools: [tool] }), 'cheap', 'rule:default'],
  [
    'a long open-ended context',
    { model: 'auto', messages: [{ role: 'user', content: `${longContext}\nWhat should we do next?` }] },
    'expensive',
    'rule:long-context',
  ],
  ['a long context to summarize', { model: 'auto', messages: [{ role: 'user', content: `Summarize: ${longContext}` }] }, 'cheap', 'rule:cheap-task'],
  [
    'content parts',
    { model: 'auto', messages: [{ role: 'user', content: [{ type: 'text', text: 'Refactor this function please' }] }] },
    'expensive',
    'rule:code',
  ],
  [
    'only the last user message counts',
    {
      model: 'auto',
      messages: [
        { role: 'user', content: 'Write a function to sort' },
        { role: 'assistant', content: 'done' },
        { role: 'user', content: 'Thanks! Now translate your answer to French.' },
      ],
    },
    'cheap',
    'rule:cheap-task',
  ],
];

describe('rule-based routing', () => {
  it.each(EXAMPLES)('%s → %s', (_what, request, tier, reason) => {
    expect(decideTier(request, null)).toEqual({ tier, reason });
  });

  it('uses every rule in the example table', () => {
    const used = new Set(EXAMPLES.map(([, , , reason]) => reason));
    for (const rule of ROUTING_RULES) expect(used).toContain(`rule:${rule.id}`);
  });

  it('ends with a catch-all default to the cheap tier', () => {
    expect(ROUTING_RULES.at(-1)).toMatchObject({ id: 'default', tier: 'cheap', when: {} });
  });
});

describe('x-task hints', () => {
  it.each(Object.entries(TASK_TIERS))('%s → %s, whatever the request says', (task, tier) => {
    expect(decideTier(user('Write a function that proves P != NP step by step'), task)).toEqual({ tier, reason: `task:${task}` });
  });

  it('is case- and space-insensitive', () => {
    expect(decideTier(user('x'), '  Classify ')).toEqual({ tier: 'cheap', reason: 'task:classify' });
  });

  it('rejects an unknown task with a 400 naming x-task', () => {
    expect(() => decideTier(user('x'), 'juggle')).toThrow(expect.objectContaining({ status: 400, param: 'x-task' }));
  });
});
