/**
 * What reaches an OpenAI-compatible upstream is the client's body as sent, only the fields the
 * proxy sets changed: its bytes are edited, not decoded and encoded again, so every character,
 * escape and space arrives as it left the client. Bytes that are not UTF-8 are read leniently
 * and forwarded as text.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestTenant, type TestTenant } from './fixtures';
import { callProxy, nonce, upstreamEnv, upstreamRequests } from './harness';

let tenant: TestTenant;
beforeAll(async () => {
  tenant = await createTestTenant();
});

const send = (body: Uint8Array) =>
  callProxy(
    '/v1/chat/completions',
    { method: 'POST', headers: { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json' }, body },
    upstreamEnv(),
  );
const utf8 = (text: string) => new TextEncoder().encode(text);

describe('the body forwarded upstream', () => {
  it('is the client’s text with the model set, escapes, spacing and wide characters untouched', async () => {
    const tag = nonce();
    const sent = `{ "model" : "cheap",\n  "messages": [{"role": "user", "content": "é \\u00e9 中文 🦊 \\"q\\" ${tag}"}], "stream": true }`;
    const call = await send(utf8(sent));
    expect(call.response.status).toBe(200);
    await call.response.text();
    await call.settled();
    const [received] = await upstreamRequests(tag);
    expect(received.rawBody).toBe(
      sent.replace('"cheap"', '"gpt-4o-mini"').replace('"stream": true ', '"stream": true,"stream_options":{"include_usage":true} '),
    );
  });

  it('drops a leading byte order mark', async () => {
    const tag = nonce();
    const call = await send(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"${tag}"}]}`)]));
    expect(call.response.status).toBe(200);
    await call.settled();
    const [received] = await upstreamRequests(tag);
    expect(received.rawBody).toBe(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"${tag}"}]}`);
  });

  it('forwards bytes that are not UTF-8 as the text they were read as', async () => {
    const tag = nonce();
    const body = new Uint8Array([...utf8(`{"model":"cheap","messages":[{"role":"user","content":"${tag} `), 0xff, 0xfe, ...utf8('"}]}')]);
    const call = await send(body);
    expect(call.response.status).toBe(200);
    await call.settled();
    const [received] = await upstreamRequests(tag);
    expect(received.body.messages[0].content).toBe(`${tag} \ufffd\ufffd`);
    expect(received.body.model).toBe('gpt-4o-mini');
  });
});
