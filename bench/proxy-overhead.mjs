#!/usr/bin/env node
/**
 * `npm run bench:overhead [-- --quick] [--cpu-only] [--profile] [--var NAME=VALUE ...]`: what the proxy adds to a call, measured in one run on a
 * lean harness (Miniflare straight on workerd, see lean-runtime.mjs) against the same local
 * upstream (upstream.mjs), beside a bare pass-through Worker in the same harness:
 *
 * 1. Latency and throughput, plain and streaming (both ways the proxy sends a chat stream, and
 *    the Responses and Messages streams it passes through natively, see MODES), at 1 and 16
 *    concurrent clients: the direct upstream, the bare Worker and the proxy, in alternating
 *    rounds (each round calls every mode and target in turn; the single client pausing 10 ms
 *    between calls, the sixteen never).
 *    "Added" latency is a Worker's minus the direct upstream's; the proxy's added latency is given
 *    as a ratio of the bare Worker's (target: at most 1.3x) and its throughput as a ratio of the
 *    bare Worker's (target: at least 0.8x). Re-framed streams have a second baseline: the bare
 *    Worker reading the answer in JavaScript and passing each chunk on unchanged (what any Worker
 *    that handles a stream chunk by chunk pays before doing anything with it), to tell the cost of
 *    the proxy's metering from that of reading.
 * 2. CPU per request of the request path (parse, auth, route, meter, log), with 4 KB and
 *    1 MiB bodies, and for each 4 KB stream: the workerd process's CPU time over a run of calls
 *    (in rounds, as above), proxy minus bare Worker (targets: under 1 ms at 4 KB, under 5 ms at
 *    1 MiB).
 * 3. The Responses and Messages streams against the chat stream passed through in the same run:
 *    the proxy's added latency and its CPU per call, each as a ratio of the chat stream's
 *    (target: within 10%, i.e. at most 1.1x).
 *
 * `--profile` then records a V8 CPU profile of the proxy's isolate in workerd over a run of each
 * passed-through stream, writes them (for Chrome's DevTools, into a temporary directory it names,
 * with the bundle they were taken of) and prints the functions with the most self time. The local bindings (D1, KV) run in other isolates of the
 * same process: their work is in the CPU numbers above but not in these profiles.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chatBody, messagesBody, responsesBody } from './bodies.mjs';
import { load, percentile } from './http-load.mjs';
import { cpuMs, profileWorker, root, startBareWorker, startProxy } from './lean-runtime.mjs';

const QUICK = process.argv.includes('--quick');
const CPU_ONLY = process.argv.includes('--cpu-only');
const PROFILE = process.argv.includes('--profile');
/** `--var NAME=VALUE` (repeatable): proxy settings for this run, e.g. REQUEST_LOG_SINK=queue. */
/** @type {Record<string, string>} */
const VARS = Object.fromEntries(process.argv.flatMap((arg, i) => (arg === '--var' ? [process.argv[i + 1].split(/=(.*)/s).slice(0, 2)] : [])));
const ROUNDS = QUICK ? 1 : 3;
/** @type {Record<number, number>} */
const COUNT = { 1: QUICK ? 300 : 1500, 16: QUICK ? 1500 : 6000 };
const PAUSE_MS = 10;
const CHAT = '/v1/chat/completions';
/** The mode the Responses and Messages streams are compared with. */
const CHAT_PASSED_THROUGH = 'stream, usage asked (passed through)';
/** Their target: added latency and CPU per call at most this many times the chat stream's. */
const SAME_AS_CHAT = 1.1;
/**
 * What is called, each with a 4 KB prompt: a plain chat call; a chat stream whose client asked
 * for the usage chunk, which the proxy passes through as the upstream sent it
 * (pass-through-stream.ts); a chat stream whose client did not, which the proxy re-frames event
 * by event (metered-stream.ts) to take the usage chunk out; and a Responses stream (OpenAI
 * upstream) and a Messages stream (Anthropic upstream), which the proxy passes through as a chat
 * stream with usage is, each metered from its own events (`sameAs`: compared with that mode),
 * the Responses stream also with `store: false`. The same answer (20 words) comes back every
 * time, in each API's own events (upstream.mjs).
 * @typedef {{ name: string, path: string, body: (bytes: number) => string, stream: boolean, reading?: boolean, headers?: Record<string, string>, keyHeader?: 'x-api-key', sameAs?: string }} Mode
 * @type {Mode[]}
 */
const MODES = [
  { name: 'plain', path: CHAT, body: (bytes) => chatBody(bytes, false), stream: false },
  { name: CHAT_PASSED_THROUGH, path: CHAT, body: (bytes) => chatBody(bytes, true, true), stream: true },
  { name: 'stream, no usage asked (re-framed)', path: CHAT, body: (bytes) => chatBody(bytes, true, false), stream: true, reading: true },
  { name: 'Responses stream (passed through)', path: '/v1/responses', body: (bytes) => responsesBody(bytes, true), stream: true, sameAs: CHAT_PASSED_THROUGH },
  // The same without the entry the proxy keeps for every stored response (a KV write, in this
  // harness done by the local KV in the same workerd process): what that entry costs.
  {
    name: 'Responses stream, store: false (passed through)',
    path: '/v1/responses',
    body: (bytes) => responsesBody(bytes, true, { store: false }),
    stream: true,
    sameAs: CHAT_PASSED_THROUGH,
  },
  {
    name: 'Messages stream (passed through)',
    path: '/v1/messages',
    body: (bytes) => messagesBody(bytes, true),
    stream: true,
    // As Anthropic's SDK sends it.
    headers: { 'anthropic-version': '2023-06-01' },
    keyHeader: 'x-api-key',
    sameAs: CHAT_PASSED_THROUGH,
  },
];

export async function startUpstream() {
  const child = spawn(process.execPath, [join(root, 'bench/upstream.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(/** @type {RegExpExecArray} */ (/listening (\d+)/.exec(String(d)))[1])));
    child.once('exit', (code) => reject(new Error(`upstream exited ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

/**
 * A path's latencies (ms) and throughput (calls/s) in one mode.
 * @typedef {{ p50: number, p99: number, rps: number, last50: number }} Stat
 */

/** @param {number} ms */
const fmt = (ms) => `${ms.toFixed(2)} ms`;
/** @param {number} x */
const ratio = (x) => `${x.toFixed(2)}x`;
/** @param {number} x */
const withinTarget = (x) => `${ratio(x)} ${x <= SAME_AS_CHAT ? 'met' : '**missed**'}`;

/** A free loopback port (for workerd's inspector). */
async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The functions with the most self time in a V8 CPU profile, as table rows.
 * @param {{ nodes: { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, hitCount?: number }[], startTime: number, endTime: number, samples?: number[] }} profile
 * @param {number} top
 */
function selfTimes(profile, top) {
  /** @type {Map<string, number>} */
  const hits = new Map();
  let total = 0;
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.split('/').pop() ?? '';
    const key = `${functionName || '(anonymous)'}${file ? ` ${file}:${lineNumber + 1}` : ''}`;
    hits.set(key, (hits.get(key) ?? 0) + (node.hitCount ?? 0));
    total += node.hitCount ?? 0;
  }
  return [...hits]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, n]) => `| ${name.replaceAll('|', '\\|')} | ${((n / total) * 100).toFixed(1)}% |`);
}

async function main() {
  const outdir = mkdtempSync(join(tmpdir(), 'ai-proxy-overhead-'));
  const upstream = await startUpstream();
  /** @type {{ dispose(): Promise<void> }[]} */
  const workers = [];
  /** @type {<T extends { dispose(): Promise<void> }>(worker: T) => T} */
  const started = (worker) => (workers.push(worker), worker);
  // Also when a Worker fails to start (the proxy's bundle fails to build, say): the upstream must not outlive the run.
  const cleanUp = async () => {
    await Promise.allSettled(workers.map((worker) => worker.dispose()));
    upstream.stop();
    rmSync(outdir, { recursive: true, force: true });
  };
  try {
    const bare = started(await startBareWorker(upstream.url));
    const reading = started(await startBareWorker(upstream.url, { readInJs: true }));
    // The inspector only when profiling: it is not free.
    const inspectorPort = PROFILE ? await freePort() : undefined;
    const proxy = started(await startProxy(upstream.url, { outdir, vars: VARS, inspectorPort }));
    /**
     * Where each target is, and the headers a mode's call to it carries (the proxy's key as the mode's clients send it).
     * @type {Record<string, { url: string, headers: (mode: Mode) => Record<string, string>, readingOnly?: boolean }>}
     */
    const targets = {
      direct: { url: upstream.url, headers: (mode) => ({ ...mode.headers }) },
      bare: { url: bare.url, headers: (mode) => ({ ...mode.headers }) },
      reading: { url: reading.url, headers: (mode) => ({ ...mode.headers }), readingOnly: true },
      proxy: { url: proxy.url, headers: (mode) => proxyHeaders(mode) },
    };
    /** @param {Mode} mode */
    const proxyHeaders = (mode) => ({
      ...mode.headers,
      ...(mode.keyHeader ? { [mode.keyHeader]: proxy.apiKey } : { authorization: `Bearer ${proxy.apiKey}` }),
    });
    console.log(`Node ${process.version}, ${ROUNDS} round(s); upstream, bare Worker and proxy on 127.0.0.1 (workerd via Miniflare, no wrangler dev).\n`);

    // 1. Latency and throughput. Each round calls every mode and target in turn, so that a drift
    // of the machine over the run is shared by the paths compared.
    /** @type {Record<string, { latencies: number[], firstBytes: number[], requests: number, ms: number }>} */
    const samples = {};
    for (const concurrency of CPU_ONLY ? [] : [1, 16]) {
      for (let round = 0; round < ROUNDS; round++) {
        for (const mode of MODES) {
          const body = mode.body(4 * 1024);
          for (const [name, target] of Object.entries(targets)) {
            if (target.readingOnly && !mode.reading) continue;
            const key = `${mode.name}|${concurrency}|${name}`;
            const call = { url: target.url + mode.path, body, headers: target.headers(mode) };
            // One client pauses between calls, as an app does, so each call finds the Worker idle
            // (work it left for after its response, such as the log write, done): what is measured
            // is the latency a call sees. Sixteen clients never pause: that is the throughput run.
            const pauseMs = concurrency === 1 ? PAUSE_MS : 0;
            await load({ concurrency, count: 100, pauseMs, next: () => call });
            const run = await load({ concurrency, count: COUNT[concurrency], pauseMs, next: () => call });
            const bad = run.results.filter((r) => r.status !== 200).length;
            if (bad) throw new Error(`${key}: ${bad} calls failed`);
            const s = (samples[key] ??= { latencies: [], firstBytes: [], requests: 0, ms: 0 });
            s.latencies.push(...run.latencies);
            s.firstBytes.push(...run.firstBytes);
            s.requests += run.results.length;
            s.ms += run.elapsedMs;
          }
        }
      }
    }
    const results = [];
    /** @type {Record<string, { p50: number, p99: number }>} the proxy's added latency, by mode and clients */
    const proxyAdded = {};
    if (!CPU_ONLY)
      console.log(
        "Latency: a plain call to its last byte, a stream to its first byte (the first token); the last column is a stream's time to its last byte.\n",
      );
    if (!CPU_ONLY) console.log('| mode | clients | path | p50 | p99 | added p50 | added p99 | throughput | stream end p50 |');
    if (!CPU_ONLY) console.log('| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const mode of CPU_ONLY ? [] : MODES) {
      for (const concurrency of [1, 16]) {
        /**
         * @param {string} name
         * @returns {Stat}
         */
        const stat = (name) => {
          const s = samples[`${mode.name}|${concurrency}|${name}`];
          // A stream's latency is its time to the first byte (the first token); a plain call's, to the last.
          const latencies = mode.stream ? s.firstBytes : s.latencies;
          return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), rps: (s.requests / s.ms) * 1000, last50: percentile(s.latencies, 50) };
        };
        const [direct, bareStat, proxyStat] = [stat('direct'), stat('bare'), stat('proxy')];
        proxyAdded[`${mode.name}|${concurrency}`] = { p50: proxyStat.p50 - direct.p50, p99: proxyStat.p99 - direct.p99 };
        const readingStat = mode.reading ? stat('reading') : null;
        /** @type {[name: string, stat: Stat][]} */
        const paths = [
          ['direct upstream', direct],
          ['bare Worker', bareStat],
          ...(readingStat ? [/** @type {[string, Stat]} */ (['bare Worker reading in JS', readingStat])] : []),
          ['proxy', proxyStat],
        ];
        for (const [name, s] of paths) {
          const added = name === 'direct upstream' ? '' : `| ${fmt(s.p50 - direct.p50)} | ${fmt(s.p99 - direct.p99)} `;
          console.log(
            `| ${mode.name} | ${concurrency} | ${name} | ${fmt(s.p50)} | ${fmt(s.p99)} ${added || '| | '}| ${Math.round(s.rps)}/s | ${mode.stream ? fmt(s.last50) : ''} |`,
          );
        }
        const row = {
          mode: mode.name,
          concurrency,
          addedP50: (proxyStat.p50 - direct.p50) / (bareStat.p50 - direct.p50),
          addedP99: (proxyStat.p99 - direct.p99) / (bareStat.p99 - direct.p99),
          throughput: proxyStat.rps / bareStat.rps,
          throughputVsReading: readingStat ? proxyStat.rps / readingStat.rps : null,
          readingThroughput: readingStat ? readingStat.rps / bareStat.rps : null,
        };
        results.push(row);
      }
    }
    if (!CPU_ONLY)
      console.log(
        '\n| mode | clients | proxy added p50 / bare | proxy added p99 / bare | proxy throughput / bare | JS-reading Worker throughput / bare | proxy throughput / JS-reading Worker |',
      );
    if (!CPU_ONLY) console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of results) {
      /** @param {boolean} ok */
      const mark = (ok) => (ok ? 'ok' : '**over**');
      /** @param {number | null} x */
      const optional = (x) => (x === null ? '' : ratio(x));
      console.log(
        `| ${r.mode} | ${r.concurrency} | ${ratio(r.addedP50)} ${mark(r.addedP50 <= 1.3)} | ${ratio(r.addedP99)} ${mark(r.addedP99 <= 1.3)} | ${ratio(r.throughput)} ${r.throughput >= 0.8 ? 'ok' : '**under**'} | ${optional(r.readingThroughput)} | ${optional(r.throughputVsReading)} |`,
      );
    }

    // 2. CPU per request, proxy minus bare Worker, in rounds as above (each round a third of the calls).
    console.log('\n| body | bare Worker CPU / call | proxy CPU / call | request path (proxy − bare) | target |');
    console.log('| --- | ---: | ---: | ---: | --- |');
    /** @typedef {{ label: string, bytes: number, calls: number, target: number, mode: Mode, bareMs: number, proxyMs: number }} CpuRun */
    /**
     * @param {string} label
     * @param {number} bytes
     * @param {number} calls
     * @param {number} target
     * @param {Mode} mode
     * @returns {CpuRun}
     */
    const cpuRun = (label, bytes, calls, target, mode) => ({ label, bytes, calls, target, mode, bareMs: 0, proxyMs: 0 });
    const cpuRuns = [
      cpuRun('4 KB', 4 * 1024, QUICK ? 400 : 2000, 1, MODES[0]),
      cpuRun('1 MiB', 1024 * 1024 - 512, QUICK ? 40 : 150, 5, MODES[0]),
      // The ways of sending a stream differ most in CPU, which is what a Worker is billed for.
      ...MODES.slice(1).map((mode) => cpuRun(`4 KB ${mode.name}`, 4 * 1024, QUICK ? 400 : 2000, 1, mode)),
    ];
    /**
     * CPU per call of `worker` over `calls` calls.
     * @param {{ url: string, pid: number }} worker
     * @param {{ url: string, body: string, headers: Record<string, string> }} call
     * @param {number} calls
     */
    const perCall = async (worker, call, calls) => {
      await load({ concurrency: 1, count: 20, next: () => call });
      await new Promise((r) => setTimeout(r, 300));
      const before = cpuMs(worker.pid);
      await load({ concurrency: 1, count: calls, next: () => call });
      // The log writes run after each response: let them finish inside the measured span.
      await new Promise((r) => setTimeout(r, 300));
      return cpuMs(worker.pid) - before;
    };
    for (let round = 0; round < ROUNDS; round++) {
      for (const run of cpuRuns) {
        const body = run.mode.body(run.bytes);
        const calls = Math.ceil(run.calls / ROUNDS);
        run.bareMs += (await perCall(bare, { url: bare.url + run.mode.path, body, headers: { ...run.mode.headers } }, calls)) / (calls * ROUNDS);
        run.proxyMs += (await perCall(proxy, { url: proxy.url + run.mode.path, body, headers: proxyHeaders(run.mode) }, calls)) / (calls * ROUNDS);
      }
    }
    for (const { label, target, bareMs, proxyMs } of cpuRuns) {
      const path = proxyMs - bareMs;
      console.log(`| ${label} | ${fmt(bareMs)} | ${fmt(proxyMs)} | ${fmt(path)} | < ${target} ms ${path < target ? 'ok' : '**over**'} |`);
    }

    // 3. The Responses and Messages streams against the chat stream passed through.
    const compared = MODES.filter((mode) => mode.sameAs);
    if (!CPU_ONLY) {
      console.log(
        `\nAdded latency of the proxy (its minus the direct upstream's, to the first byte) against the chat stream passed through; target: at most ${SAME_AS_CHAT}x.\n`,
      );
      console.log('| mode | clients | added p50 | / chat stream passed through | added p99 | / chat stream passed through |');
      console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
      for (const mode of compared) {
        for (const concurrency of [1, 16]) {
          const own = proxyAdded[`${mode.name}|${concurrency}`];
          const chat = proxyAdded[`${mode.sameAs}|${concurrency}`];
          console.log(
            `| ${mode.name} | ${concurrency} | ${fmt(own.p50)} | ${withinTarget(own.p50 / chat.p50)} | ${fmt(own.p99)} | ${withinTarget(own.p99 / chat.p99)} |`,
          );
        }
      }
    }
    console.log(`\nCPU per call against the chat stream passed through; target: at most ${SAME_AS_CHAT}x.\n`);
    console.log('| mode | proxy CPU / call | / chat stream passed through | request path (proxy − bare) | / chat stream passed through |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    for (const mode of compared) {
      const own = /** @type {CpuRun} */ (cpuRuns.find((run) => run.mode === mode));
      const chat = /** @type {CpuRun} */ (cpuRuns.find((run) => run.mode.name === mode.sameAs));
      const [ownPath, chatPath] = [own.proxyMs - own.bareMs, chat.proxyMs - chat.bareMs];
      console.log(
        `| ${mode.name} | ${fmt(own.proxyMs)} | ${withinTarget(own.proxyMs / chat.proxyMs)} | ${fmt(ownPath)} | ${withinTarget(ownPath / chatPath)} |`,
      );
    }

    if (inspectorPort) {
      // Kept after the run with the bundle they were taken of (their line numbers are its).
      const profiles = mkdtempSync(join(tmpdir(), 'ai-proxy-profiles-'));
      copyFileSync(join(outdir, 'proxy.mjs'), join(profiles, 'proxy.mjs'));
      for (const mode of MODES.filter((m) => m.name === CHAT_PASSED_THROUGH || m.sameAs)) {
        const call = { url: proxy.url + mode.path, body: mode.body(4 * 1024), headers: proxyHeaders(mode) };
        await load({ concurrency: 1, count: 50, next: () => call });
        const profile = /** @type {Parameters<typeof selfTimes>[0]} */ (
          await profileWorker(inspectorPort, 'ai-cost-proxy', () => load({ concurrency: 1, count: QUICK ? 300 : 1000, next: () => call }))
        );
        const file = join(profiles, `${mode.name.replace(/\W+/g, '-').replace(/-+$/, '')}.cpuprofile`);
        writeFileSync(file, JSON.stringify(profile));
        console.log(`\nProfile of the proxy's isolate, ${mode.name} (${file}), self time:\n`);
        console.log('| function | share of samples |');
        console.log('| --- | ---: |');
        for (const row of selfTimes(profile, 15)) console.log(row);
      }
    }
    // Sanity: the proxy logged what it served.
    const { n } = /** @type {{ n: number }} */ (await proxy.db.prepare('SELECT COUNT(*) AS n FROM requests').first());
    console.log(`\n(${n} proxied calls logged to D1 during the run.)`);
  } finally {
    await cleanUp();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main();
  process.exit(0);
}
