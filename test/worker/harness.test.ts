import { describe, expect, it } from 'vitest';
import { env, nonce, readSse, upstreamRequests, upstreamUrl } from './harness';

describe('test harness', () => {
  it('reaches the fake upstream from the Workers runtime and reads back what it received', async () => {
    const n = nonce('harness');
    const res = await fetch(`${upstreamUrl()}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test-openai' },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: `hello ${n}` }],
      }),
    });
    expect(res.status).toBe(200);
    const events = await readSse(res);
    expect(events.at(-1)?.data).toBe('[DONE]');
    const usage = JSON.parse(events.at(-2)!.data);
    expect(usage.choices).toEqual([]);
    expect(usage.usage.prompt_tokens).toBeGreaterThan(0);

    const recorded = await upstreamRequests(n);
    expect(recorded).toHaveLength(1);
    expect(recorded[0].path).toBe('/v1/chat/completions');
    expect(recorded[0].headers.authorization).toBe('Bearer sk-test-openai');
    expect(recorded[0].body.stream_options).toEqual({ include_usage: true });
  });

  it('applied the D1 migrations', async () => {
    const row = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'requests'").first<{ name: string }>();
    expect(row?.name).toBe('requests');
  });
});
