#!/usr/bin/env node
/**
 * `npm run bench:overhead [-- --quick] [--cpu-only] [--var NAME=VALUE ...]`: what the proxy adds to a call, measured in one run on a
 * lean harness (Miniflare straight on workerd, see lean-runtime.mjs) against the same local
 * upstream (upstream.mjs), beside a bare pass-through Worker in the same harness:
 *
 * 1. Latency and throughput, plain and streaming (both ways the proxy sends a stream, see MODES),
 *    at 1 and 16 concurrent clients: the direct upstream, the bare Worker and the proxy, in
 *    alternating rounds (the single client pausing 10 ms between calls, the sixteen never).
 *    "Added" latency is a Worker's minus the direct upstream's; the proxy's added latency is given
 *    as a ratio of the bare Worker's (target: at most 1.3x) and its throughput as a ratio of the
 *    bare Worker's (target: at least 0.8x). Re-framed streams have a second baseline: the bare
 *    Worker reading the answer in JavaScript and passing each chunk on unchanged (what any Worker
 *    that handles a stream chunk by chunk pays before doing anything with it), to tell the cost of
 *    the proxy's metering from that of reading.
 * 2. CPU per request of the request path (parse, auth, route, meter, log), with 4 KB and
 *    1 MiB bodies, and for 4 KB streams sent each way: the workerd process's CPU time over a run
 *    of calls, proxy minus bare Worker (targets: under 1 ms at 4 KB, under 5 ms at 1 MiB).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chatBody } from './bodies.mjs';
import { load, percentile } from './http-load.mjs';
import { cpuMs, root, startBareWorker, startProxy } from './lean-runtime.mjs';

const QUICK = process.argv.includes('--quick');
const CPU_ONLY = process.argv.includes('--cpu-only');
/** `--var NAME=VALUE` (repeatable): proxy settings for this run, e.g. REQUEST_LOG_SINK=queue. */
/** @type {Record<string, string>} */
const VARS = Object.fromEntries(process.argv.flatMap((arg, i) => (arg === '--var' ? [process.argv[i + 1].split(/=(.*)/s).slice(0, 2)] : [])));
const ROUNDS = QUICK ? 1 : 3;
/** @type {Record<number, number>} */
const COUNT = { 1: QUICK ? 300 : 1500, 16: QUICK ? 1500 : 6000 };
const PAUSE_MS = 10;
/**
 * What is called: a plain call; a stream whose client asked for the usage chunk, which the proxy
 * passes through as the upstream sent it (pass-through-stream.ts); and a stream whose client did
 * not, which the proxy re-frames event by event (metered-stream.ts) to take the usage chunk out.
 * @typedef {{ name: string, stream: boolean, includeUsage?: boolean, reading?: boolean }} Mode
 * @type {Mode[]}
 */
const MODES = [
  { name: 'plain', stream: false },
  { name: 'stream, usage asked (passed through)', stream: true, includeUsage: true },
  { name: 'stream, no usage asked (re-framed)', stream: true, includeUsage: false, reading: true },
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

async function main() {
  const outdir = mkdtempSync(join(tmpdir(), 'ai-proxy-overhead-'));
  const upstream = await startUpstream();
  const bare = await startBareWorker(upstream.url);
  const reading = await startBareWorker(upstream.url, { readInJs: true });
  const proxy = await startProxy(upstream.url, { outdir, vars: VARS });
  const cleanUp = async () => {
    await Promise.allSettled([bare.dispose(), reading.dispose(), proxy.dispose()]);
    upstream.stop();
    rmSync(outdir, { recursive: true, force: true });
  };
  try {
    /** @type {Record<string, { url: string, headers: Record<string, string>, readingOnly?: boolean }>} */
    const targets = {
      direct: { url: `${upstream.url}/v1/chat/completions`, headers: {} },
      bare: { url: `${bare.url}/v1/chat/completions`, headers: {} },
      reading: { url: `${reading.url}/v1/chat/completions`, headers: {}, readingOnly: true },
      proxy: { url: `${proxy.url}/v1/chat/completions`, headers: { authorization: `Bearer ${proxy.apiKey}` } },
    };
    console.log(`Node ${process.version}, ${ROUNDS} round(s); upstream, bare Worker and proxy on 127.0.0.1 (workerd via Miniflare, no wrangler dev).\n`);

    // 1. Latency and throughput.
    /** @type {Record<string, { latencies: number[], firstBytes: number[], requests: number, ms: number }>} */
    const samples = {};
    for (const mode of CPU_ONLY ? [] : MODES) {
      const body = chatBody(4 * 1024, mode.stream, mode.includeUsage);
      for (const concurrency of [1, 16]) {
        for (let round = 0; round < ROUNDS; round++) {
          for (const [name, target] of Object.entries(targets)) {
            if (target.readingOnly && !mode.reading) continue;
            const key = `${mode.name}|${concurrency}|${name}`;
            // One client pauses between calls, as an app does, so each call finds the Worker idle
            // (work it left for after its response, such as the log write, done): what is measured
            // is the latency a call sees. Sixteen clients never pause: that is the throughput run.
            const pauseMs = concurrency === 1 ? PAUSE_MS : 0;
            await load({ concurrency, count: 100, pauseMs, next: () => ({ url: target.url, body, headers: target.headers }) });
            const run = await load({ concurrency, count: COUNT[concurrency], pauseMs, next: () => ({ url: target.url, body, headers: target.headers }) });
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

    // 2. CPU per request, proxy minus bare Worker.
    console.log('\n| body | bare Worker CPU / call | proxy CPU / call | request path (proxy − bare) | target |');
    console.log('| --- | ---: | ---: | ---: | --- |');
    /** @typedef {[label: string, bytes: number, calls: number, target: number, mode: Mode]} CpuRun */
    /** @type {CpuRun[]} */
    const cpuRuns = [
      ['4 KB', 4 * 1024, QUICK ? 400 : 2000, 1, MODES[0]],
      ['1 MiB', 1024 * 1024 - 512, QUICK ? 40 : 150, 5, MODES[0]],
      // The two ways of sending a stream differ most in CPU, which is what a Worker is billed for.
      ...MODES.slice(1).map(/** @returns {CpuRun} */ (mode) => [`4 KB ${mode.name}`, 4 * 1024, QUICK ? 400 : 2000, 1, mode]),
    ];
    for (const [label, bytes, calls, target, mode] of cpuRuns) {
      const body = chatBody(bytes, mode.stream, mode.includeUsage);
      /**
       * @param {{ url: string, pid: number }} worker
       * @param {Record<string, string>} headers
       */
      const perCall = async (worker, headers) => {
        await load({ concurrency: 1, count: 20, next: () => ({ url: `${worker.url}/v1/chat/completions`, body, headers }) });
        await new Promise((r) => setTimeout(r, 300));
        const before = cpuMs(worker.pid);
        await load({ concurrency: 1, count: calls, next: () => ({ url: `${worker.url}/v1/chat/completions`, body, headers }) });
        // The log writes run after each response: let them finish inside the measured span.
        await new Promise((r) => setTimeout(r, 300));
        return (cpuMs(worker.pid) - before) / calls;
      };
      const bareCpu = await perCall(bare, {});
      const proxyCpu = await perCall(proxy, { authorization: `Bearer ${proxy.apiKey}` });
      const path = proxyCpu - bareCpu;
      console.log(`| ${label} | ${fmt(bareCpu)} | ${fmt(proxyCpu)} | ${fmt(path)} | < ${target} ms ${path < target ? 'ok' : '**over**'} |`);
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
