/**
 * What a call is billed when the upstream never answers it in full: providers bill the prompt
 * they processed, so a timed-out attempt's prompt is billed (as an estimate) and counted.
 */
import { describe, expect, it } from 'vitest';
import { REASONING_OUTPUT_FLOOR } from '../../proxy/pipeline/stream-response';
import { estimateRequestTokens } from '../../proxy/providers/content';
import { createTestTenant, loggedRow } from './fixtures';
import { callProxy, nonce, postJson, upstreamEnv } from './harness';

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

  it('count against tpm even when a retry then answers', async () => {
    // 120 tokens a minute refill 0.002 a millisecond: a few seconds between the calls add at most ~10.
    const tenant = await createTestTenant({ tpm: 120 });
    const env = { ...upstreamEnv(), UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '100', UPSTREAM_MAX_RETRIES: '1', FALLBACK_MODEL: 'none' };
    const id = nonce();
    const first = {
      model: 'openai/gpt-4o-mini',
      max_tokens: 5,
      messages: [{ role: 'user', content: `upstream:first=${id}:1:slow=2000 ${'a question '.repeat(10)}` }],
    };
    const retried = await postJson('/v1/chat/completions', first, { apiKey: tenant.apiKey, env });
    expect(retried.response.status).toBe(200);
    await retried.settled();
    const row = await loggedRow(retried.response.headers.get('x-request-id'));
    expect(row).toMatchObject({ attempts: 2, usage_estimated: 1 });
    // The row bills the timed-out attempt's prompt on top of the answered one's usage; tpm must have counted the same.
    const second = { model: 'openai/gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] };
    const next = await postJson('/v1/chat/completions', second, { apiKey: tenant.apiKey, env });
    const counted = row!.prompt_tokens + row!.completion_tokens + estimateRequestTokens(second) + 5;
    const remaining = Number(next.response.headers.get('x-ratelimit-remaining-tokens'));
    expect(remaining).toBeGreaterThanOrEqual(120 - counted);
    expect(remaining).toBeLessThanOrEqual(120 - counted + 10);
  });
});

describe('an abandoned stream with no usage back', () => {
  it('of a reasoning model is billed at least the reasoning floor of output, as an estimate', async () => {
    const tenant = await createTestTenant();
    const controller = new AbortController();
    const call = await callProxy(
      new Request('http://proxy.test/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.apiKey}` },
        body: JSON.stringify({
          model: 'openai/o4-mini',
          stream: true,
          messages: [{ role: 'user', content: `upstream:chunk-delay=100 think hard ${nonce()}` }],
        }),
        signal: controller.signal,
      }),
      undefined,
      { ...upstreamEnv(), UPSTREAM_ABANDONED_METER_MS: '0' },
    );
    const reader = call.response.body!.getReader();
    await reader.read();
    controller.abort();
    await reader.cancel().catch(() => {});
    await call.settled();
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    expect(row).toMatchObject({ status: 499, usage_estimated: 1 });
    expect(row!.completion_tokens).toBeGreaterThanOrEqual(REASONING_OUTPUT_FLOOR);
  });
});
