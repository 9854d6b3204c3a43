/**
 * The proxy with one more route, for `npm run bench:scale` only (never deployed): POST
 * /__bench/log pushes synthetic call records through the request log's own code, as the queue
 * consumer receives them (batches of up to 100) or as calls hand them to the writer (its group
 * commit), and answers what went in and what D1 then says about itself; POST /__bench/cron runs
 * the cron's work (rollups, archive, purge) to its end, with RETENTION_DAYS as the body says. Everything else is the proxy's (the admin API), so
 * the benchmark reads its results through the product's own paths.
 */
import proxy from '../proxy/index';
import type { Env } from '../proxy/core/env';
import type { RequestRecord } from '../proxy/core/request-record';
import { consumeRequestLog } from '../proxy/request-log/consumer';
import { addRows, emptyRows, writeRows } from '../proxy/request-log/rows';
import { writeRequestLog } from '../proxy/request-log/writer';

export { TenantRateLimiter } from '../proxy/index';

interface BurstRequest {
  /**
   * consumer: batches as the queue delivers them; writer: concurrent calls' records,
   * group-committed; probe: one insert of the records, then one delete of them, for the D1 rows
   * each writes as D1 counts them.
   */
  path: 'consumer' | 'writer' | 'probe';
  count: number;
  batchSize: number;
  tenantIds: string[];
  /** The calls' start times are spread evenly over [fromTs, toTs). */
  fromTs: number;
  toTs: number;
  /** Seeds the records' ids and costs, so runs can be told apart and repeated. */
  seed: number;
}

const MODELS = [
  ['openai/gpt-4o-mini', 'openai', 'cheap'],
  ['openai/gpt-4o', 'openai', 'expensive'],
  ['anthropic/claude-haiku-4-5', 'anthropic', 'cheap'],
] as const;

/** Distinct end users; a call's is drawn log-uniformly (Zipf-like: user r is about 1/r as frequent as the first). */
const USERS = 3000;
const TEAMS = ['search', 'ads', 'support', 'growth', 'infra', 'billing', 'mobile', 'web'];

/** A number in [0, 1) from a record's index and seed, spread evenly enough for the user draw. */
const spread = (i: number, seed: number) => ((i * 2_654_435_761 + seed * 40_503) % 1_000_003) / 1_000_003;

/**
 * A realistic record: a priced chat call, one in twenty streamed through a failover, one in fifty
 * failed; one of USERS end users (one call in ten has none), a team tag of eight values and a
 * feature tag of twenty.
 */
function syntheticRecord(i: number, burst: BurstRequest): RequestRecord {
  const [model, provider, tier] = MODELS[i % MODELS.length];
  const failed = i % 50 === 49;
  const promptTokens = 400 + ((i * 7919 + burst.seed) % 3000);
  const completionTokens = failed ? 0 : 50 + ((i * 104_729 + burst.seed) % 700);
  const ts = burst.fromTs + Math.floor(((burst.toTs - burst.fromTs) * i) / burst.count);
  return {
    id: `req_bench${burst.seed}x${i}`,
    ts,
    tenantId: burst.tenantIds[i % burst.tenantIds.length],
    keyId: `key_bench${i % 7}`,
    user: i % 10 === 9 ? null : `user_${Math.floor(USERS ** spread(i, burst.seed))}`,
    tags: { team: TEAMS[(i * 31) % TEAMS.length], feature: `feature_${(i * 17) % 20}` },
    endpoint: i % 3 === 0 ? 'responses' : 'chat',
    modelRequested: i % 2 === 0 ? 'auto' : model,
    model,
    provider,
    tier,
    routeReason: i % 2 === 0 ? 'task:classify' : 'requested',
    status: failed ? 502 : 200,
    errorType: failed ? 'upstream_error' : null,
    errorMessage: failed ? 'upstream answered 500' : null,
    usage: { promptTokens, completionTokens, cachedTokens: i % 4 === 0 ? 256 : 0, cacheWriteTokens: 0 },
    usageEstimated: false,
    costNano: failed ? 0 : promptTokens * 150 + completionTokens * 600,
    savedNano: 0,
    latencyMs: 200 + (i % 900),
    ttftMs: i % 5 === 0 ? 120 + (i % 300) : null,
    stream: i % 5 === 0,
    cache: 'BYPASS',
    attempts: i % 20 === 19 ? 2 : 1,
    failedAttempts:
      i % 20 === 19
        ? [{ attempt: 1, ts, model, provider, tier, status: 503, errorType: 'upstream_unavailable', errorMessage: 'upstream answered 503', latencyMs: 80 }]
        : [],
  };
}

/** The queue's batch as the runtime hands it to the consumer; acknowledgements are counted. */
function queueBatch(records: RequestRecord[]): MessageBatch<RequestRecord> & { retried: number } {
  const batch = {
    queue: 'ai-proxy-request-log',
    metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } },
    retried: 0,
    messages: records.map((body) => ({
      id: body.id,
      timestamp: new Date(body.ts),
      body,
      attempts: 1,
      ack() {},
      retry() {
        batch.retried++;
      },
    })),
    ackAll() {},
    retryAll() {
      batch.retried += records.length;
    },
  };
  return batch;
}

async function burst(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const input = (await request.json()) as BurstRequest;
  const records = Array.from({ length: input.count }, (_, i) => syntheticRecord(i, input));
  let retried = 0;
  if (input.path === 'probe') {
    const inserted = await writeRows(env, records.reduce(addRows, emptyRows()), 'probe');
    const deleted = await env.DB.batch(
      ['requests', 'request_attempts'].map((table) => env.DB.prepare(`DELETE FROM ${table} WHERE ts >= ?1 AND ts < ?2`).bind(input.fromTs, input.toTs)),
    );
    const deleteRowsWritten = deleted.reduce((sum, result) => sum + result.meta.rows_written, 0);
    const dbBytes = deleted.at(-1)?.meta.size_after;
    return Response.json({ records: records.length, insertRowsWritten: inserted?.meta.rows_written, deleteRowsWritten, dbBytes });
  }
  if (input.path === 'consumer') {
    for (let i = 0; i < records.length; i += input.batchSize) {
      const batch = queueBatch(records.slice(i, i + input.batchSize));
      await consumeRequestLog(batch, env, ctx);
      retried += batch.retried;
    }
  } else {
    await Promise.all(records.map((record) => writeRequestLog(env, record)));
  }
  const costNano = records.reduce((sum, r) => sum + r.costNano, 0);
  const size = await env.DB.prepare('SELECT 1').run();
  return Response.json({ records: records.length, costNano, retried, dbBytes: size.meta.size_after });
}

/** The cron's work, awaited: what it hands to waitUntil is what the benchmark times. */
async function cron(request: Request, fetchCtx: ExecutionContext, deployed: Env): Promise<Response> {
  const { retentionDays } = (await request.json()) as { retentionDays?: number };
  const env: Env = retentionDays === undefined ? deployed : { ...deployed, RETENTION_DAYS: String(retentionDays) };
  const work: Promise<unknown>[] = [];
  const ctx: ExecutionContext = Object.assign(Object.create(fetchCtx) as ExecutionContext, {
    waitUntil: (promise: Promise<unknown>) => void work.push(promise),
  });
  await proxy.scheduled({ cron: '*/10 * * * *', scheduledTime: Date.now(), noRetry() {} }, env, ctx);
  await Promise.all(work);
  return Response.json({ ok: true });
}

export default {
  ...proxy,
  fetch(request, env, ctx) {
    const path = request.method === 'POST' ? new URL(request.url).pathname : '';
    if (path === '/__bench/log') return burst(request, env, ctx);
    if (path === '/__bench/cron') return cron(request, ctx, env);
    return proxy.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env, RequestRecord>;
