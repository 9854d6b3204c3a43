#!/usr/bin/env node
/**
 * `npm start [-- <wrangler dev flags>]`: local development server.
 *
 * 1. Applies the D1 migrations to the local database (`wrangler d1 migrations apply DB --local`),
 *    honouring `--persist-to <dir>`, `--config/-c` and `--env/-e` if given.
 * 2. Runs `wrangler dev` with every argument given (e.g. `npm start -- --port 8788`).
 *    When ADMIN_TOKEN is set neither in .dev.vars (or .env, which wrangler reads when there is no
 *    .dev.vars) nor on the command line, it adds `--var ADMIN_TOKEN:dev-admin-token`; an
 *    ADMIN_TOKEN from the shell environment is passed on with `--var` (wrangler does not read
 *    the process environment by itself).
 * 3. Prints where the proxy, the dashboard, the admin API and the admin token are once the server answers,
 *    forwards SIGINT/SIGTERM/SIGHUP to wrangler and exits with its exit code.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const DEFAULT_ADMIN_TOKEN = 'dev-admin-token';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const wranglerBin = join(dirname(require.resolve('wrangler/package.json')), 'bin', 'wrangler.js');

const userArgs = process.argv.slice(2);

/**
 * Value of `--name value` or `--name=value` (last one wins), for any of the given names.
 * @param {string[]} args
 * @param {...string} names
 * @returns {string | undefined}
 */
function argValue(args, ...names) {
  let value;
  for (let i = 0; i < args.length; i++) {
    for (const name of names) {
      if (args[i] === name && i + 1 < args.length) value = args[i + 1];
      else if (args[i].startsWith(`${name}=`)) value = args[i].slice(name.length + 1);
    }
  }
  return value;
}

/**
 * Values of a repeatable flag such as `--var A:1 B:2 --var C:3` (yargs array style).
 * @param {string[]} args
 * @param {string} name
 */
function argValues(args, name) {
  const values = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i].startsWith(`${name}=`)) values.push(args[i].slice(name.length + 1));
    else if (args[i] === name) {
      for (let j = i + 1; j < args.length && !args[j].startsWith('-'); j++) values.push(args[j]);
    }
  }
  return values;
}

/**
 * Whether a dotenv-style file defines `key` (a non-comment `KEY=` or `export KEY=` line).
 * @param {string} path
 * @param {string} key
 */
function fileDefines(path, key) {
  if (!existsSync(path)) return false;
  const re = new RegExp(`^\\s*(export\\s+)?${key}\\s*=`, 'm');
  return re.test(readFileSync(path, 'utf8'));
}

const configPath = argValue(userArgs, '--config', '-c');
const wranglerEnv = argValue(userArgs, '--env', '-e');
const persistTo = argValue(userArgs, '--persist-to');
const port = argValue(userArgs, '--port') ?? '8787';
const ip = argValue(userArgs, '--ip');
const configDir = configPath ? dirname(resolve(configPath)) : root;

const childEnv = { ...process.env, WRANGLER_SEND_METRICS: 'false' };

/**
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} env
 * @returns {Promise<{ code: number | null, signal: NodeJS.Signals | null }>}
 */
function run(args, env) {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [wranglerBin, ...args], { cwd: root, env, stdio: 'inherit' });
    child.on('exit', (code, signal) => resolveRun({ code, signal }));
    child.on('error', (err) => {
      console.error(err);
      resolveRun({ code: 1, signal: null });
    });
  });
}

// 1. Migrations. CI=true makes wrangler take the "yes" default instead of prompting.
const migrateArgs = ['d1', 'migrations', 'apply', 'DB', '--local'];
if (persistTo) migrateArgs.push('--persist-to', persistTo);
if (configPath) migrateArgs.push('--config', configPath);
if (wranglerEnv) migrateArgs.push('--env', wranglerEnv);
console.log('> applying D1 migrations to the local database');
const migrated = await run(migrateArgs, { ...childEnv, CI: 'true' });
if (migrated.code !== 0) {
  console.error(`D1 migrations failed (wrangler exited with ${migrated.code ?? migrated.signal}); not starting the server.`);
  process.exit(migrated.code || 1);
}

// 2. The admin token.
const devVars = /** @type {string[]} */ ([wranglerEnv && join(configDir, `.dev.vars.${wranglerEnv}`), join(configDir, '.dev.vars')].filter(Boolean));
const devVarsFile = devVars.find((p) => existsSync(p));
const dotEnvFiles = devVarsFile
  ? []
  : ['.env', '.env.local', ...(wranglerEnv ? [`.env.${wranglerEnv}`, `.env.${wranglerEnv}.local`] : [])].map((f) => join(configDir, f));
const cliToken = argValues(userArgs, '--var').find((v) => v.startsWith('ADMIN_TOKEN:'));

const devArgs = ['dev', ...userArgs];
let tokenNote;
if (cliToken) {
  tokenNote = 'ADMIN_TOKEN: as given with --var';
} else if (devVarsFile && fileDefines(devVarsFile, 'ADMIN_TOKEN')) {
  tokenNote = `ADMIN_TOKEN: from ${devVarsFile.slice(configDir.length + 1)}`;
} else if (dotEnvFiles.some((f) => fileDefines(f, 'ADMIN_TOKEN'))) {
  tokenNote = 'ADMIN_TOKEN: from .env';
} else if (process.env.ADMIN_TOKEN) {
  devArgs.push('--var', `ADMIN_TOKEN:${process.env.ADMIN_TOKEN}`);
  tokenNote = 'ADMIN_TOKEN: from the environment';
} else {
  devArgs.push('--var', `ADMIN_TOKEN:${DEFAULT_ADMIN_TOKEN}`);
  tokenNote = `ADMIN_TOKEN: ${DEFAULT_ADMIN_TOKEN}   (local default; set ADMIN_TOKEN in .dev.vars to change it)`;
}

// Local development: the admin API takes a short, well-known token here, never when deployed.
const ownEnvironment = argValues(userArgs, '--var').some((v) => v.startsWith('ENVIRONMENT:')) || (devVarsFile && fileDefines(devVarsFile, 'ENVIRONMENT'));
if (!ownEnvironment) devArgs.push('--var', 'ENVIRONMENT:development');

// 3. wrangler dev.
const host = !ip || ip === '0.0.0.0' || ip === '*' || ip === '::' ? 'localhost' : ip.includes(':') ? `[${ip}]` : ip;
const url = `http://${host}:${port}`;
const child = spawn(process.execPath, [wranglerBin, ...devArgs], { cwd: root, env: childEnv, stdio: 'inherit' });

let exiting = false;
for (const signal of /** @type {NodeJS.Signals[]} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
  process.on(signal, () => {
    exiting = true;
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}
child.on('error', (err) => {
  console.error(`could not start wrangler dev: ${err.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  if (signal) process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15));
  process.exit(code ?? 1);
});

// Print the banner once the server answers (wrangler's own output would bury it otherwise).
const probe = `http://${host === 'localhost' ? '127.0.0.1' : host}:${port}/health`;
const deadline = Date.now() + 120_000;
while (!exiting && child.exitCode === null && Date.now() < deadline) {
  try {
    await fetch(probe, { signal: AbortSignal.timeout(2_000) });
    const line = '─'.repeat(68);
    console.log(
      [
        '',
        line,
        `  AI cost proxy    ${url}/v1   (OpenAI-compatible base URL)`,
        `  Dashboard        ${url}/dashboard/   (npm run demo fills it with traffic)`,
        `  Admin API        ${url}/admin/openapi.json`,
        `  ${tokenNote}`,
        line,
        '',
      ].join('\n'),
    );
    break;
  } catch {
    await new Promise((r) => setTimeout(r, 500));
  }
}
