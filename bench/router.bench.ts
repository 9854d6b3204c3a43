/**
 * CPU cost of choosing a tier, against the cost of parsing the same request body: the router
 * must add well under a millisecond. Baseline and subject run in the same process and run.
 */
import { test } from 'vitest';
import type { ChatRequest } from '../proxy/providers/types';
import * as router from '../proxy/routing/tiers';
import * as validation from '../proxy/endpoints/chat-completions/schema';
import { printRatios } from './report';

// Local bindings: calling through the module namespace on every iteration would measure
// vitest's export getters too.
const decideTier = router.decideTier;
const parseChatRequest = validation.parseChatRequest;

function requestOf(bytes: number): { text: string; body: ChatRequest } {
  const filler = 'The customer writes about an order that arrived late and a refund they expect. ';
  const content = `Please answer the question at the end.\n${filler.repeat(Math.ceil(bytes / filler.length))}`.slice(0, bytes);
  const body: ChatRequest = {
    model: 'auto',
    messages: [
      { role: 'system', content: 'You are a support assistant for an online shop.' },
      { role: 'user', content },
    ],
    max_tokens: 512,
  };
  return { text: JSON.stringify(body), body };
}

for (const size of [4 * 1024, 1024 * 1024]) {
  const { text, body } = requestOf(size);
  const title = `a ${size >= 1024 * 1024 ? '1 MiB' : '4 KB'} chat request`;
  test(title, async ({ bench }) => {
    const results = await bench.compare(
      bench('baseline: JSON.parse of the body', () => {
        JSON.parse(text);
      }),
      bench('validate the parsed body (zod)', () => {
        parseChatRequest(body);
      }),
      bench('route: decideTier (rules)', () => {
        decideTier(body, null);
      }),
      bench('route: decideTier (x-task hint)', () => {
        decideTier(body, 'summarize');
      }),
    );
    printRatios(title, results, 'baseline: JSON.parse of the body', [
      'baseline: JSON.parse of the body',
      'validate the parsed body (zod)',
      'route: decideTier (rules)',
      'route: decideTier (x-task hint)',
    ]);
  });
}
