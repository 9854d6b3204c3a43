// @ts-check
/**
 * Finds a Chromium for playwright-core, so that the browser tests (test/browser/) and
 * `npm run screenshots` run after a plain `npm install`, with no browser installed beforehand
 * (`npx playwright install` cannot download one on these machines). In this order:
 *   1. `CHROMIUM_PATH`, if set;
 *   2. a system Chromium: /usr/bin/chromium, /usr/bin/chromium-browser, or `chromium` on PATH;
 *   3. the headless Chromium shipped inside the `@sparticuz/chromium` dev dependency (Linux x64
 *      only), unpacked once per version into the temporary directory (~200 MB, a few seconds).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

/** Our switches, whichever Chromium runs (playwright-core adds --headless and a fresh --user-data-dir). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Switches of `@sparticuz/chromium`'s `args` (made for AWS Lambda) left out:
 * - `--headless='shell'`: playwright-core sets headless mode itself;
 * - `--single-process`: a Lambda workaround under which the browser dies with its first closed
 *   context (the tests open several);
 * - `--disable-web-security`, `--allow-running-insecure-content`, `--disable-site-isolation-trials`:
 *   the dashboard must be tested under the same-origin and mixed-content rules a user's browser has;
 * - `--disable-features`, `--enable-features`: Chromium reads only the last of each, so these would
 *   replace playwright-core's own lists.
 */
const DROPPED_PACKAGE_SWITCHES = new Set([
  '--headless',
  '--single-process',
  '--disable-web-security',
  '--allow-running-insecure-content',
  '--disable-site-isolation-trials',
  '--disable-features',
  '--enable-features',
]);

const SYSTEM_CHROMIUMS = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** @param {string} path */
const isExecutableFile = (path) => {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/** @param {string} arg */
const switchName = (arg) => arg.split('=')[0];

/**
 * How to launch Chromium with playwright-core's `chromium.launch()`: the first Chromium found
 * (see the top of this file), headless, with our switches.
 * @returns {Promise<import('playwright-core').LaunchOptions>}
 */
export async function chromiumLaunchOptions() {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!isExecutableFile(fromEnv)) throw new Error(`CHROMIUM_PATH is ${fromEnv}, which is not an executable file.`);
    return { executablePath: fromEnv, headless: true, args: CHROMIUM_ARGS };
  }
  const onPath = (process.env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, 'chromium'));
  const system = [...SYSTEM_CHROMIUMS, ...onPath].find(isExecutableFile);
  if (system) return { executablePath: system, headless: true, args: CHROMIUM_ARGS };
  return bundledChromium();
}

/** The Chromium of `@sparticuz/chromium`, unpacked if it is not yet. */
async function bundledChromium() {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `No Chromium found: CHROMIUM_PATH is not set, there is none at ${SYSTEM_CHROMIUMS.join(' or ')} nor \`chromium\` on PATH, and the one in @sparticuz/chromium is for Linux x64 only (this is ${process.platform} ${process.arch}). Install Chromium or Chrome and set CHROMIUM_PATH to its executable.`,
    );
  }
  const entry = createRequire(import.meta.url).resolve('@sparticuz/chromium');
  const { version } = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8'));
  const dir = join(tmpdir(), `sparticuz-chromium-${version}`);
  if (!existsSync(join(dir, 'chromium'))) await unpack(entry, dir);
  const { default: packaged } = await import(pathToFileURL(entry).href);
  const theirs = /** @type {string[]} */ (packaged.args).filter(
    (arg) => !DROPPED_PACKAGE_SWITCHES.has(switchName(arg)) && !CHROMIUM_ARGS.some((ours) => switchName(ours) === switchName(arg)),
  );
  /** @type {Record<string, string>} */
  const env = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  // Its fonts, after the system's (a bare machine has none, and then pages draw no text at all).
  if (!env.FONTCONFIG_FILE && !env.FONTCONFIG_PATH) env.FONTCONFIG_FILE = join(dir, 'fonts.conf');
  // Amazon Linux 2023 needs the libraries the package unpacks there.
  if (existsSync(join(dir, 'al2023', 'lib'))) env.LD_LIBRARY_PATH = [join(dir, 'al2023', 'lib'), env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return { executablePath: join(dir, 'chromium'), headless: true, args: [...CHROMIUM_ARGS, ...new Set(theirs)], env };
}

/**
 * Unpacks the package's Chromium into `dir`. `chromium.executablePath()` unpacks into the
 * temporary directory itself and reuses whatever `chromium` it finds there, even a half-written
 * one or another version's, so it runs in a child process whose TMPDIR is a fresh folder, renamed
 * to `dir` once complete: an interrupted run leaves no broken browser behind, and of two runs
 * unpacking at once, both end with the same complete one.
 * @param {string} entry the package's main module
 * @param {string} dir
 */
async function unpack(entry, dir) {
  // Left by runs that were stopped while unpacking.
  const prefix = `${basename(dir)}.partial-`;
  for (const name of readdirSync(dirname(dir))) {
    const pid = name.startsWith(prefix) ? Number(name.slice(prefix.length)) : NaN;
    if (Number.isInteger(pid) && pid !== process.pid && !isRunning(pid)) rmSync(join(dirname(dir), name), { recursive: true, force: true });
  }
  const staging = join(dirname(dir), `${prefix}${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  try {
    const script = `const { default: chromium } = await import(${JSON.stringify(pathToFileURL(entry).href)}); await chromium.executablePath();`;
    await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, TMPDIR: staging, TMP: staging, TEMP: staging },
    }).catch((/** @type {{ stderr?: string }} */ error) => {
      throw new Error(error.stderr?.trim() || String(error));
    });
    if (!existsSync(join(staging, 'chromium'))) throw new Error(`@sparticuz/chromium did not unpack a chromium into ${staging}`);
    const xml = (/** @type {string} */ s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
    writeFileSync(
      join(staging, 'fonts.conf'),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n<fontconfig>\n  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n  <dir>${xml(join(dir, 'fonts', 'fonts'))}</dir>\n  <cachedir>${xml(join(dir, 'fonts-cache'))}</cachedir>\n</fontconfig>\n`,
    );
    try {
      renameSync(staging, dir);
    } catch (error) {
      // Another run got there first: use its copy.
      if (!existsSync(join(dir, 'chromium'))) throw error;
    }
  } catch (error) {
    throw new Error(`Could not unpack the Chromium of @sparticuz/chromium into ${dir}: ${error instanceof Error ? error.message : error}`, { cause: error });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** @param {number} pid */
function isRunning(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return /** @type {NodeJS.ErrnoException} */ (error).code === 'EPERM';
  }
}
