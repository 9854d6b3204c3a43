/**
 * What a call is billed when the upstream never answers it in full: providers bill the prompt
 * they processed, so a timed-out attempt's prompt is billed (as an estimate) and counted.
 */
import { describe, expect, it } from 'vitest';
import { estimateRequestTokens } from '../../proxy/providers/content';
import { createTestTenant, loggedRow } from './fixtures';
import { nonce, postJson, upstreamEnv } from './harness';

describe('timed-out attempts', () => {
  it('bill their estimated prompt, each attempt, marked as an estimate', async () => {
    const tenant = await createTestTenant();
    const body = { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: `upstream:slow=2000 a question ${nonce()}` }] };
    const call = await postJson('/v1/chat/completions', body, {
      apiKey: tenant.apiKey,
      env: { ...upstreamEnv(), UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '100', UPSTREAM_MAX_RETRIES: '1', FALLBACK_MODEL: 'none' },
    });
    expect(call.response.status).toBe(504);
    await call.settled();
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    expect(row).toMatchObject({ status: 504, attempts: 2, usage_estimated: 1, prompt_tokens: 2 * estimateRequestTokens(body), completion_tokens: 0 });
    expect(row!.cost_nano).toBeGreaterThan(0);
  });
});
