#!/usr/bin/env node
/**
 * `npm run screenshots [-- --seconds 240]`: starts the server on a fresh local state, sends the
 * demo traffic (scripts/demo.mjs) for a few minutes, so that the minute charts have a shape, and
 * saves screenshots of every dashboard page (last 15 minutes), at laptop and phone widths, into
 * docs/screenshots/. Chromium: CHROMIUM_PATH, else a system one, else the one in
 * @sparticuz/chromium (see scripts/chromium.mjs).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { chromiumLaunchOptions } from './chromium.mjs';
import { runDemoTraffic } from './demo.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'docs', 'screenshots');
const secondsArg = process.argv.indexOf('--seconds');
const seconds = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 240;
const token = 'screenshot-admin-token';
const state = mkdtempSync(join(tmpdir(), 'ai-proxy-screenshots-'));

const port = await new Promise((done) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => {
    const { port } = /** @type {import('node:net').AddressInfo} */ (s.address());
    s.close(() => done(port));
  });
});
const url = `http://127.0.0.1:${port}`;
const server = spawn(
  process.execPath,
  [join(root, 'scripts/start.mjs'), '--port', String(port), '--ip', '127.0.0.1', '--persist-to', state, '--var', `ADMIN_TOKEN:${token}`],
  {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    stdio: 'ignore',
    detached: true,
  },
);
const stop = () => {
  try {
    if (server.pid) process.kill(-server.pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  rmSync(state, { recursive: true, force: true });
};
process.on('exit', stop);

for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${url}/health`)).ok) break;
  } catch {
    /* not up yet */
  }
  if (i > 240) throw new Error('the server did not start');
  await new Promise((r) => setTimeout(r, 500));
}

console.log(`Sending ${seconds} s of demo traffic…`);
const { sent } = await runDemoTraffic({ url, adminToken: token, seconds, concurrency: 4 });
console.log(`${sent} calls sent; taking screenshots`);

mkdirSync(out, { recursive: true });
const browser = await chromium.launch(await chromiumLaunchOptions());
/**
 * @param {string} name
 * @param {string} hash
 * @param {{ width: number, height: number }} viewport
 */
async function shoot(name, hash, viewport) {
  const page = await browser.newPage({ viewport, colorScheme: 'light' });
  await page.addInitScript((t) => sessionStorage.setItem('ai-proxy-admin-token', t), token);
  await page.goto(`${url}/dashboard/#/${hash}`);
  await page.waitForSelector('main h1');
  await page.waitForFunction(() => !document.querySelector('.spinner'));
  await page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
  await page.close();
  console.log(`  docs/screenshots/${name}.png`);
}
const laptop = { width: 1280, height: 800 };
await shoot('overview', 'overview?range=15m', laptop);
await shoot('spend', 'spend?range=15m', laptop);
await shoot('tenants', 'tenants?range=15m', laptop);
await shoot('latency', 'latency?range=15m', laptop);
await shoot('requests', 'requests?range=15m', laptop);
await shoot('routing', 'routing?range=15m', laptop);
await shoot('overview-phone', 'overview?range=15m', { width: 390, height: 844 });
await browser.close();
process.exit(0);
