/**
 * Shadow evaluation (proxy/evaluation/, docs/ROUTING.md#shadow-evaluation), end to end through the
 * Worker with real D1 and the real providers: the mock, or OpenAI pointed at the fake upstream,
 * which records when each request arrived. The sampling decision is a hash of the request id, so
 * every expectation below is exact for the ids the calls got.
 */
import { describe, expect, it } from 'vitest';
import { wilsonInterval } from '../../analytics/routing-quality';
import { MIN_SAMPLES } from '../../analytics/routing-targets';
import type { RoutingQuality } from '../../analytics/types';
import type { Env } from '../../proxy/core/env';
import { completionMessage, readVerdict } from '../../proxy/evaluation/judge';
import { cheapPositionOf, evaluationSubject, sampledAt } from '../../proxy/evaluation/sampling';
import { insertEvaluation, type EvaluationRow } from '../../proxy/evaluation/store';
import { VERDICT_TOOL } from '../../proxy/evaluation/verdict';
import type { ChatRequest } from '../../proxy/providers/types';
import { createTestTenant, type TestTenant } from './fixtures';
import { callAdmin, env, nonce, postJson, upstreamEnv, upstreamRequests } from './harness';

interface StoredEvaluation {
  id: string;
  request_id: string;
  task: string;
  served_tier: string;
  cheap_model: string;
  expensive_model: string;
  cheap_cost_nano: number;
  expensive_cost_nano: number;
  shadow_cost_nano: number;
  judge_model: string;
  judge_cost_nano: number;
  cheap_position: string;
  verdict: string;
  reason: string | null;
}

const JUDGED = ['same', 'cheap_worse', 'cheap_better'];

const evaluationsOf = async (tenantId: string) =>
  (await env.DB.prepare('SELECT * FROM evaluations WHERE tenant_id = ? ORDER BY ts, id').bind(tenantId).all<StoredEvaluation>()).results;

interface CallOptions {
  task?: string;
  env?: Partial<Env>;
}

/** A call to `path`, read to its end and settled (its row written, its evaluation done); its request id. */
async function send(path: string, tenant: TestTenant, body: Record<string, unknown>, options: CallOptions = {}) {
  const call = await postJson(path, body, {
    apiKey: tenant.apiKey,
    headers: { 'anthropic-version': '2023-06-01', ...(options.task ? { 'x-task': options.task } : {}) },
    env: options.env,
  });
  const text = await call.response.text();
  await call.settled();
  expect(call.response.status, text).toBe(200);
  return { id: call.response.headers.get('x-request-id')!, text, headers: call.response.headers };
}

const chat = (tenant: TestTenant, body: Record<string, unknown>, options?: CallOptions) =>
  send('/v1/chat/completions', tenant, { model: 'cheap', ...body }, options);

const say = (content: string) => ({ messages: [{ role: 'user', content }] });

describe('sampling', () => {
  const ids = Array.from({ length: 20_000 }, (_, i) => `req_sampling${i}`);

  it('takes no call at rate 0, every call at rate 1, and about the rate between', () => {
    expect(ids.filter((id) => sampledAt(id, 0))).toHaveLength(0);
    expect(ids.filter((id) => sampledAt(id, 1))).toHaveLength(ids.length);
    for (const rate of [0.01, 0.1, 0.3, 0.5]) {
      const share = ids.filter((id) => sampledAt(id, rate)).length / ids.length;
      expect(Math.abs(share - rate), `rate ${rate}`).toBeLessThan(0.01);
    }
    // The judge sees the cheap answer first for half the calls, whichever are sampled.
    const sampled = ids.filter((id) => sampledAt(id, 0.5));
    expect(Math.abs(sampled.filter((id) => cheapPositionOf(id) === 'A').length / sampled.length - 0.5)).toBeLessThan(0.02);
  });

  it('honours the tenant rate through the proxy: exactly the calls the hash picks', async () => {
    const never = await createTestTenant({ shadow_eval_rate: 0 });
    for (let i = 0; i < 5; i++) await chat(never, say(`never ${i}`));
    expect(await evaluationsOf(never.id)).toHaveLength(0);

    const always = await createTestTenant({ shadow_eval_rate: 1 });
    const all: string[] = [];
    for (let i = 0; i < 5; i++) all.push((await chat(always, say(`always ${i}`))).id);
    expect((await evaluationsOf(always.id)).map((e) => e.request_id).sort()).toEqual(all.sort());

    const half = await createTestTenant({ shadow_eval_rate: 0.5 });
    const sent: string[] = [];
    for (let i = 0; i < 30; i++) sent.push((await chat(half, say(`half ${i}`))).id);
    const expected = sent.filter((id) => sampledAt(id, 0.5));
    expect((await evaluationsOf(half.id)).map((e) => e.request_id).sort()).toEqual(expected.sort());
    expect(expected.length).toBeGreaterThan(5);
    expect(expected.length).toBeLessThan(25);
  });

  it('leaves out calls with tools, images or store: false unless the tenant (and, for store: false, the operator) includes them', () => {
    const tenant = (include: Array<'tools' | 'images' | 'unstored'>) => ({ shadow_eval_rate: 1, shadow_eval_include: include });
    const tools = { model: 'cheap', ...say('hi'), tools: [{ type: 'function', function: { name: 'f' } }] };
    const toolResult = {
      model: 'cheap',
      messages: [
        { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function' as const, function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c', content: '{}' },
      ],
    };
    const image = { model: 'cheap', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }] };
    const unstored = { model: 'cheap', ...say('hi'), store: false };
    const operator = {} as Env;
    const allowsUnstored = { EVAL_ALLOW_UNSTORED: 'true' } as Env;
    const evaluable = (body: object) => () => ({ request: body as ChatRequest, unstored: (body as ChatRequest).store === false, answer: completionMessage });
    const subject = (e: Env, t: ReturnType<typeof tenant>, body: object) => evaluationSubject(e, t, 'req_kinds', evaluable(body), null);

    expect(subject(operator, tenant([]), { model: 'cheap', ...say('hi') })).toMatchObject({ task: 'rule:default', rate: 1 });
    // A call that cannot be put in the internal form cannot be asked of another model.
    const untranslatable = () => {
      throw new Error('a built-in tool');
    };
    expect(evaluationSubject(operator, tenant(['tools', 'images']), 'req_kinds', untranslatable, null)).toBeNull();
    for (const body of [tools, toolResult, image, unstored]) expect(subject(operator, tenant([]), body)).toBeNull();
    expect(subject(operator, tenant(['tools']), tools)).not.toBeNull();
    expect(subject(operator, tenant(['tools']), toolResult)).not.toBeNull();
    expect(subject(operator, tenant(['tools']), image)).toBeNull();
    expect(subject(operator, tenant(['images']), image)).not.toBeNull();
    expect(subject(operator, tenant(['unstored']), unstored)).toBeNull();
    expect(subject(allowsUnstored, tenant(['unstored']), unstored)).not.toBeNull();
    // The task: the x-task when there is one, else the rule that read the request.
    expect(evaluationSubject(operator, tenant([]), 'req_kinds', evaluable({ model: 'cheap', ...say('hi') }), 'Summarize')).toMatchObject({ task: 'summarize' });
  });
});

describe('the evaluation', () => {
  it('runs after the client has its answer: a slow shadow call adds nothing to the response', async () => {
    const tenant = await createTestTenant({ shadow_eval_rate: 1, cheap_model: 'openai/gpt-4o-mini', expensive_model: 'openai/gpt-4o' });
    const mark = nonce('latency');
    const started = Date.now();
    const call = await postJson(
      '/v1/chat/completions',
      { model: 'cheap', ...say(`${mark} classify this upstream:if-model=gpt-4o:slow=1500`) },
      { apiKey: tenant.apiKey, headers: { 'x-task': 'classify' }, env: { ...upstreamEnv(), JUDGE_MODEL: 'mock/mock-large' } },
    );
    await call.response.text();
    const answeredAt = Date.now();
    expect(call.response.status).toBe(200);
    expect(answeredAt - started, 'the client waited for the shadow call').toBeLessThan(1000);
    await call.settled();
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);

    const seen = await upstreamRequests(mark);
    const client = seen.find((r) => r.body.model === 'gpt-4o-mini')!;
    const shadow = seen.find((r) => r.body.model === 'gpt-4o')!;
    expect(shadow, 'the shadow call').toBeDefined();
    expect(shadow.body.stream ?? false).toBe(false);
    expect(shadow.ts).toBeGreaterThanOrEqual(answeredAt);
    expect(shadow.ts).toBeGreaterThan(client.ts);

    const [evaluation] = await evaluationsOf(tenant.id);
    expect(evaluation).toMatchObject({
      request_id: call.response.headers.get('x-request-id'),
      task: 'classify',
      served_tier: 'cheap',
      cheap_model: 'openai/gpt-4o-mini',
      expensive_model: 'openai/gpt-4o',
      judge_model: 'mock/mock-large',
    });
    expect(JUDGED).toContain(evaluation.verdict);
    expect(evaluation.cheap_cost_nano).toBeGreaterThan(0);
    expect(evaluation.expensive_cost_nano).toBeGreaterThan(evaluation.cheap_cost_nano);
    expect(evaluation.shadow_cost_nano).toBe(evaluation.expensive_cost_nano);
    expect(evaluation.judge_cost_nano).toBeGreaterThan(0);
  });

  it('judges a streamed call from the answer the client received, and stores a judge answer that is not a verdict as invalid', async () => {
    const tenant = await createTestTenant({ shadow_eval_rate: 1, cheap_model: 'openai/gpt-4o-mini', expensive_model: 'openai/gpt-4o' });
    const mark = nonce('stream');
    const { text } = await chat(
      tenant,
      { ...say(`${mark} summarize the log`), stream: true },
      { task: 'summarize', env: { ...upstreamEnv(), JUDGE_MODEL: 'openai/gpt-4.1' } },
    );
    expect(text).toContain('data: ');

    const judge = (await upstreamRequests(mark)).find((r) => r.body.model === 'gpt-4.1')!;
    expect(judge, 'the judge call').toBeDefined();
    expect(judge.body.tool_choice).toEqual({ type: 'function', function: { name: VERDICT_TOOL } });
    const prompt: string = judge.body.messages.at(-1).content;
    expect(prompt).toMatch(/^Task: summarize\n/);
    // The fake upstream echoes the prompt: the streamed answer, assembled, is one of the two.
    expect(prompt).toContain(`Echo: ${mark} summarize the log`);

    const [evaluation] = await evaluationsOf(tenant.id);
    expect(evaluation).toMatchObject({ task: 'summarize', served_tier: 'cheap', verdict: 'invalid', judge_model: 'openai/gpt-4.1' });
    expect(evaluation.reason).toContain(VERDICT_TOOL);
    // The judge was paid for all the same.
    expect(evaluation.judge_cost_nano).toBeGreaterThan(0);
  });

  it('judges both directions with the mock judge, the cheap answer shown at the position its id gives', async () => {
    const tenant = await createTestTenant({ shadow_eval_rate: 1 });
    const cheap: string[] = [];
    for (let i = 0; i < 6; i++) cheap.push((await chat(tenant, say(`write code ${i}`), { task: 'code' })).id);
    const expensive = (await chat(tenant, { model: 'expensive', ...say('reason about it') }, { task: 'reason' })).id;

    const rows = await evaluationsOf(tenant.id);
    expect(rows).toHaveLength(7);
    for (const row of rows) {
      expect(JUDGED, row.reason ?? '').toContain(row.verdict);
      expect(row.reason).toBeTruthy();
      expect(row.cheap_position).toBe(cheapPositionOf(row.request_id));
      expect(row).toMatchObject({ cheap_model: 'mock/mock-mini', expensive_model: 'mock/mock-large', judge_model: 'mock/mock-large' });
    }
    expect(rows.find((r) => r.request_id === expensive)).toMatchObject({ served_tier: 'expensive', task: 'reason' });
    expect(rows.filter((r) => cheap.includes(r.request_id)).every((r) => r.served_tier === 'cheap' && r.task === 'code')).toBe(true);
  });

  it('reads a verdict only from the verdict tool, with valid arguments', () => {
    const completion = (message: object) => JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: null, ...message } }] });
    const called = (args: string) => completion({ tool_calls: [{ id: 'c', type: 'function', function: { name: VERDICT_TOOL, arguments: args } }] });
    const verdict = (better: string) => called(JSON.stringify({ better, reason: 'because' }));
    expect(readVerdict(verdict('same'), 'A')).toEqual({ verdict: 'same', reason: 'because' });
    expect(readVerdict(verdict('A'), 'A').verdict).toBe('cheap_better');
    expect(readVerdict(verdict('A'), 'B').verdict).toBe('cheap_worse');
    expect(readVerdict(verdict('B'), 'B').verdict).toBe('cheap_better');
    for (const answer of [
      completion({ content: 'A is better' }),
      called('not json'),
      verdict('C'),
      called(JSON.stringify({ better: 'A' })),
      called(JSON.stringify({ better: 'A', reason: 'r', extra: 1 })),
      completion({ tool_calls: [{ id: 'c', type: 'function', function: { name: 'other', arguments: '{}' } }] }),
    ]) {
      expect(readVerdict(answer, 'A').verdict, answer).toBe('invalid');
    }
  });
});

describe('Responses and Messages calls', () => {
  const judged = { JUDGE_MODEL: 'mock/mock-large' };
  const openai = { cheap_model: 'openai/gpt-4o-mini', expensive_model: 'openai/gpt-4o' };
  const anthropic = { cheap_model: 'anthropic/claude-haiku-4-5', expensive_model: 'anthropic/claude-sonnet-4-5' };
  const respond = (tenant: TestTenant, body: Record<string, unknown>, options?: CallOptions) =>
    send('/v1/responses', tenant, { model: 'cheap', ...body }, options);
  const message = (tenant: TestTenant, body: Record<string, unknown>, options?: CallOptions) =>
    send('/v1/messages', tenant, { model: 'cheap', max_tokens: 200, ...body }, options);

  /** The evaluation of each call, in the order of the calls. */
  const evaluationsFor = async (tenantId: string, ids: string[]) => {
    const rows = await evaluationsOf(tenantId);
    expect(rows.map((r) => r.request_id).sort()).toEqual([...ids].sort());
    return ids.map((id) => rows.find((r) => r.request_id === id)!);
  };

  it('are evaluated translated, plain and streamed, with their task and tiers', async () => {
    const tenant = await createTestTenant({ shadow_eval_rate: 1 });
    const ids = [
      (await respond(tenant, { input: 'write a parser' }, { task: 'code' })).id,
      (await respond(tenant, { input: 'write a lexer', stream: true }, { task: 'code' })).id,
      (await respond(tenant, { model: 'expensive', input: 'why is the sky blue' }, { task: 'reason' })).id,
      (await message(tenant, say('summarize the meeting'), { task: 'summarize' })).id,
      (await message(tenant, { ...say('summarize the call'), stream: true }, { task: 'summarize' })).id,
      (await message(tenant, { model: 'expensive', ...say('prove it') }, { task: 'reason' })).id,
    ];
    const rows = await evaluationsFor(tenant.id, ids);
    expect(rows.map((r) => [r.task, r.served_tier])).toEqual([
      ['code', 'cheap'],
      ['code', 'cheap'],
      ['reason', 'expensive'],
      ['summarize', 'cheap'],
      ['summarize', 'cheap'],
      ['reason', 'expensive'],
    ]);
    for (const row of rows) {
      expect(JUDGED, row.reason ?? '').toContain(row.verdict);
      expect(row).toMatchObject({ cheap_model: 'mock/mock-mini', expensive_model: 'mock/mock-large', judge_model: 'mock/mock-large' });
    }
  });

  it('are evaluated native, plain and streamed, the judge reading the answer the client got', async () => {
    const responses = await createTestTenant({ shadow_eval_rate: 1, ...openai });
    const messages = await createTestTenant({ shadow_eval_rate: 1, ...anthropic });
    const env = { ...upstreamEnv(), ...judged };
    const mark = nonce('native');
    const responseIds = [
      (await respond(responses, { input: `${mark} label this`, instructions: 'Be brief.' }, { task: 'classify', env })).id,
      (await respond(responses, { input: `${mark} label that`, stream: true }, { task: 'classify', env })).id,
    ];
    const messageIds = [
      (await message(messages, { system: 'Be brief.', ...say(`${mark} pull the dates`) }, { task: 'extract', env })).id,
      (await message(messages, { ...say(`${mark} pull the names`), stream: true }, { task: 'extract', env })).id,
    ];
    for (const row of await evaluationsFor(responses.id, responseIds)) {
      expect(row).toMatchObject({ task: 'classify', served_tier: 'cheap', cheap_model: 'openai/gpt-4o-mini', expensive_model: 'openai/gpt-4o' });
      expect(JUDGED, row.reason ?? '').toContain(row.verdict);
      expect(row.cheap_cost_nano).toBeGreaterThan(0);
    }
    for (const row of await evaluationsFor(messages.id, messageIds)) {
      expect(row).toMatchObject({ task: 'extract', served_tier: 'cheap', expensive_model: 'anthropic/claude-sonnet-4-5' });
      expect(row.cheap_model).toMatch(/^anthropic\/claude-haiku-4-5/);
      expect(JUDGED, row.reason ?? '').toContain(row.verdict);
    }
    // The client's calls went out natively; the shadow calls in the internal form, system prompt and all.
    const seen = await upstreamRequests(mark);
    expect(seen.filter((r) => r.path === '/v1/responses')).toHaveLength(2);
    const shadows = seen.filter((r) => r.path === '/v1/chat/completions');
    expect(shadows.map((r) => r.body.model)).toEqual(['gpt-4o', 'gpt-4o']);
    expect(shadows[0].body.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: `${mark} label this` },
    ]);
    const anthropicModels = seen.filter((r) => r.path === '/v1/messages').map((r) => r.body.model);
    expect(anthropicModels.filter((m: string) => m.startsWith('claude-sonnet-4-5'))).toHaveLength(2);
  });

  it('hand the judge the streamed answer as the client assembled it', async () => {
    const tenant = await createTestTenant({ shadow_eval_rate: 1, ...openai });
    const mark = nonce('assembled');
    await respond(tenant, { input: `${mark} tidy the notes`, stream: true }, { task: 'summarize', env: { ...upstreamEnv(), JUDGE_MODEL: 'openai/gpt-4.1' } });
    const judge = (await upstreamRequests(mark)).find((r) => r.body.model === 'gpt-4.1')!;
    const prompt: string = judge.body.messages.at(-1).content;
    expect(prompt).toMatch(/^Task: summarize\n/);
    // The fake upstream echoes the prompt: both answers, the client's natively streamed one and the shadow call's, say it.
    expect(prompt.split(`Echo: ${mark} tidy the notes`).length - 1).toBe(2);
  });

  it('respect the same skips: store: false, tools, what only the upstream can run, a conversation kept upstream', async () => {
    const tenant = await createTestTenant({ shadow_eval_rate: 1, ...openai });
    const env = { ...upstreamEnv(), ...judged };
    const first = await respond(tenant, { input: 'remember 42' }, { env });
    await respond(tenant, { input: 'private', store: false }, { env });
    await respond(tenant, { input: 'look it up', tools: [{ type: 'web_search' }] }, { env });
    await respond(tenant, { input: 'what was it?', previous_response_id: JSON.parse(first.text).id }, { env });
    const mock = await createTestTenant({ shadow_eval_rate: 1 });
    await message(mock, { ...say('weather?'), tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: {} } }] });
    expect((await evaluationsOf(tenant.id)).map((r) => r.request_id)).toEqual([first.id]);
    expect(await evaluationsOf(mock.id)).toHaveLength(0);
  });
});

describe('evaluation spend', () => {
  it('is apart from the tenant spend, and stops at EVAL_BUDGET_USD', async () => {
    const tenant = await createTestTenant({ shadow_eval_rate: 1, monthly_budget_usd: 100 });
    for (let i = 0; i < 3; i++) await chat(tenant, say(`spend ${i}`));
    const rows = await evaluationsOf(tenant.id);
    expect(rows).toHaveLength(3);

    // The tenant's month is its own calls' cost, nothing of the evaluations.
    const month = new Date().toISOString().slice(0, 7);
    const own = await env.DB.prepare('SELECT SUM(cost_nano) AS nano FROM requests WHERE tenant_id = ?').bind(tenant.id).first<{ nano: number }>();
    const tenantSpend = await env.DB.prepare('SELECT spent_nano FROM tenant_spend WHERE tenant_id = ? AND month = ?')
      .bind(tenant.id, month)
      .first<{ spent_nano: number }>();
    expect(tenantSpend!.spent_nano).toBe(own!.nano);
    expect(rows.every((r) => r.shadow_cost_nano > 0 && r.judge_cost_nano > 0)).toBe(true);

    // The month's evaluation spend is every evaluation's, exactly.
    const evalSpend = async () =>
      (await env.DB.prepare('SELECT spent_nano FROM eval_spend WHERE month = ?').bind(month).first<{ spent_nano: number }>())!.spent_nano;
    const all = await env.DB.prepare('SELECT SUM(shadow_cost_nano + judge_cost_nano) AS nano FROM evaluations').first<{ nano: number }>();
    expect(await evalSpend()).toBe(all!.nano);

    // At the cap, no more evaluations; the calls themselves are served as ever.
    const cap = String((await evalSpend()) / 1e9);
    await chat(tenant, say('capped'), { env: { EVAL_BUDGET_USD: cap } });
    expect(await evaluationsOf(tenant.id)).toHaveLength(3);
    // Below it, evaluations go on.
    await chat(tenant, say('under the cap'), { env: { EVAL_BUDGET_USD: String(Number(cap) + 1) } });
    expect(await evaluationsOf(tenant.id)).toHaveLength(4);

    const report = await callAdmin(`/admin/analytics/routing-quality?tenant=${tenant.id}`, {}, { EVAL_BUDGET_USD: '5' });
    const body = (await report.response.json()) as RoutingQuality;
    expect(body.eval_spend).toMatchObject({ month_to_date_usd: (await evalSpend()) / 1e9, monthly_cap_usd: 5 });
    const tenantRows = await evaluationsOf(tenant.id);
    expect(body.eval_spend.window_usd).toBeCloseTo(tenantRows.reduce((sum, r) => sum + r.shadow_cost_nano + r.judge_cost_nano, 0) / 1e9, 12);
  });
});

describe('routing quality', () => {
  it('gives the Wilson interval', () => {
    expect(wilsonInterval(0, 0)).toBeNull();
    const none = wilsonInterval(0, 10)!;
    expect(none.low).toBe(0);
    expect(none.high).toBeCloseTo(0.2775, 3);
    const most = wilsonInterval(9, 10)!;
    expect(most.low).toBeCloseTo(0.5958, 3);
    expect(most.high).toBeCloseTo(0.9821, 3);
  });

  it('reports agreement, costs scaled by the rate, and a recommendation only from 50 samples', async () => {
    const tenant = await createTestTenant();
    const ts = Date.now() - 60_000;
    let n = 0;
    const add = (task: string, servedTier: 'cheap' | 'expensive', verdict: EvaluationRow['verdict'], count: number) =>
      Promise.all(
        Array.from({ length: count }, () =>
          insertEvaluation(env, {
            id: `eval_fixture${tenant.id}${n++}`,
            requestId: `req_fixture${n}`,
            ts,
            evaluatedAt: ts,
            tenantId: tenant.id,
            task,
            servedTier,
            sampleRate: 0.5,
            cheapModel: 'mock/mock-mini',
            expensiveModel: 'mock/mock-large',
            cheapCostNano: 1000,
            expensiveCostNano: 10_000,
            shadow: { costNano: servedTier === 'cheap' ? 10_000 : 1000, promptTokens: 1, completionTokens: 1 },
            judgeModel: 'mock/mock-large',
            judge: { costNano: 500, promptTokens: 1, completionTokens: 1 },
            cheapPosition: 'A',
            verdict,
            reason: 'fixture',
          }),
        ),
      );
    // Expensive calls the cheap tier would have answered as well: 99 of 100.
    await add('extract', 'expensive', 'same', 99);
    await add('extract', 'expensive', 'cheap_worse', 1);
    await add('extract', 'expensive', 'invalid', 3);
    // Cheap calls the cheap tier often fails: 30 of 60.
    await add('code', 'cheap', 'same', 30);
    await add('code', 'cheap', 'cheap_worse', 30);
    // Too few to say.
    await add('classify', 'cheap', 'same', MIN_SAMPLES - 1);

    const report = await callAdmin(`/admin/analytics/routing-quality?tenant=${tenant.id}`);
    expect(report.response.status).toBe(200);
    const body = (await report.response.json()) as RoutingQuality;
    const row = (task: string) => body.data.find((r) => r.task === task)!;

    expect(row('extract')).toMatchObject({
      tier: 'expensive',
      samples: 100,
      same: 99,
      cheap_worse: 1,
      invalid: 3,
      agreement_rate: 0.99,
      recommendation: 'move_to_cheap',
    });
    expect(row('extract').agreement_low).toBeGreaterThan(0.9);
    // 100 sampled calls at a rate of 0.5 stand for 200, at 10,000 nano-USD each; on the cheap tier they would cost 1,000.
    expect(row('extract').cost_usd).toBeCloseTo(200 * 10_000e-9, 12);
    expect(row('extract').move_cost_delta_usd).toBeCloseTo(-200 * 9000e-9, 12);
    expect(row('extract').sampled_cost_usd).toBeCloseTo(100 * 10_000e-9, 12);
    expect(row('extract').eval_cost_usd).toBeCloseTo(103 * 1500e-9, 12);

    expect(row('code')).toMatchObject({ tier: 'cheap', samples: 60, agreement_rate: 0.5, recommendation: 'move_to_expensive' });
    expect(row('code').move_cost_delta_usd).toBeCloseTo(120 * 9000e-9, 12);
    expect(row('classify')).toMatchObject({ samples: MIN_SAMPLES - 1, agreement_rate: 1, recommendation: null });

    expect(body.interval).toBe('hour');
    const extract = body.series.find((s) => s.task === 'extract')!;
    expect(extract.points.find((p) => p.samples > 0)).toMatchObject({ samples: 100, agreement_rate: 0.99 });
  });
});

describe('per-task tier overrides', () => {
  it('move a task to the tier the tenant chose, and say so in the route reason', async () => {
    const tenant = await createTestTenant();
    const before = await chat(tenant, { model: 'auto', ...say('tl;dr of the log') }, { task: 'summarize' });
    expect(before.headers.get('x-proxy-tier')).toBe('cheap');
    expect(before.headers.get('x-proxy-route-reason')).toBe('task:summarize');

    const patched = await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { task_tiers: { summarize: 'expensive' } } });
    expect(patched.response.status).toBe(200);
    expect(await patched.response.json()).toMatchObject({ task_tiers: { summarize: 'expensive' } });

    const after = await chat(tenant, { model: 'auto', ...say('tl;dr of the log') }, { task: 'summarize' });
    expect(after.headers.get('x-proxy-tier')).toBe('expensive');
    expect(after.headers.get('x-proxy-model')).toBe('mock/mock-large');
    expect(after.headers.get('x-proxy-route-reason')).toBe('task:summarize+override:expensive');
    // Other tasks keep their tier.
    const other = await chat(tenant, { model: 'auto', ...say('label it') }, { task: 'classify' });
    expect(other.headers.get('x-proxy-route-reason')).toBe('task:classify');

    const refused = await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { task_tiers: { summarise: 'expensive' } } });
    expect(refused.response.status).toBe(400);
    const wrongTier = await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { task_tiers: { summarize: 'premium' } } });
    expect(wrongTier.response.status).toBe(400);
    const rate = await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { shadow_eval_rate: 1.5 } });
    expect(rate.response.status).toBe(400);
  });
});
