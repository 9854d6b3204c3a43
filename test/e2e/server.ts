/**
 * Starts the real server the way a user does (`node scripts/start.mjs`, i.e. `npm start`):
 * migrations applied, then `wrangler dev` on a free port with a fresh local state directory.
 *
 *   const upstream = await startUpstreamServer();
 *   const server = await startServer({ upstreamUrl: upstream.url });
 *   ... fetch(`${server.url}/v1/chat/completions`, ...) / new OpenAI({ baseURL: `${server.url}/v1` })
 *   await server.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface StartServerOptions {
  /** Fake upstream base URL (no /v1); sets OPENAI_BASE_URL=<url>/v1 and ANTHROPIC_BASE_URL=<url>. */
  upstreamUrl?: string;
  /** Extra wrangler vars, e.g. { CHEAP_MODEL: 'openai/gpt-4o-mini' }; they override the defaults above. */
  vars?: Record<string, string>;
  /** Extra raw arguments for `npm start --` (wrangler dev flags). */
  args?: string[];
  /** Pass an explicit admin token; by default the server's local default is used. */
  adminToken?: string;
  /** How long to wait for GET /health to answer 200. */
  timeoutMs?: number;
  /** Reuse a state directory (e.g. to restart on the same data); default: a fresh temp dir, removed on stop. */
  persistTo?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  adminToken: string;
  persistTo: string;
  /** Everything the server printed so far (stdout and stderr). */
  output(): string;
  stop(): Promise<void>;
}

export const E2E_OPENAI_KEY = 'sk-test-openai';
export const E2E_ANTHROPIC_KEY = 'sk-ant-test';
const DEFAULT_ADMIN_TOKEN = 'dev-admin-token';

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

/** Node >= 22.12 for wrangler: the project's pinned binary when present. */
function nodeBinary(): string {
  const pinned = join(root, 'node_modules', 'node', 'bin', 'node');
  return existsSync(pinned) ? pinned : process.execPath;
}

/** Whether the developer's own .dev.vars/.env sets ADMIN_TOKEN (then start.mjs adds no default). */
function localFilesSetAdminToken(): boolean {
  return ['.dev.vars', '.env', '.env.local'].some((f) => {
    const p = join(root, f);
    return existsSync(p) && /^\s*(export\s+)?ADMIN_TOKEN\s*=/m.test(readFileSync(p, 'utf8'));
  });
}

export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const port = await freePort();
  const persistTo = options.persistTo ?? mkdtempSync(join(tmpdir(), 'ai-proxy-e2e-'));
  const ownsState = options.persistTo === undefined;

  // An ADMIN_TOKEN in the developer's files or shell would replace the default: pin one then.
  const adminToken = options.adminToken ?? (localFilesSetAdminToken() || process.env.ADMIN_TOKEN ? 'e2e-admin-token' : DEFAULT_ADMIN_TOKEN);
  const vars: Record<string, string> = {};
  if (options.upstreamUrl) {
    vars.OPENAI_BASE_URL = `${options.upstreamUrl}/v1`;
    vars.ANTHROPIC_BASE_URL = options.upstreamUrl;
    vars.OPENAI_API_KEY = E2E_OPENAI_KEY;
    vars.ANTHROPIC_API_KEY = E2E_ANTHROPIC_KEY;
  }
  if (adminToken !== DEFAULT_ADMIN_TOKEN) vars.ADMIN_TOKEN = adminToken;
  Object.assign(vars, options.vars);

  const args = [join(root, 'scripts', 'start.mjs'), '--port', String(port), '--ip', '127.0.0.1', '--persist-to', persistTo];
  for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`);
  args.push(...(options.args ?? []));

  const env: NodeJS.ProcessEnv = { ...process.env, WRANGLER_SEND_METRICS: 'false' };
  delete env.ADMIN_TOKEN;
  const child: ChildProcess = spawn(nodeBinary(), args, {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group, so stop() reaches wrangler and workerd too
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));

  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, 10_000);
      await exited;
      clearTimeout(timer);
    }
    // workerd children may outlive start.mjs by a moment: make sure the group is gone.
    for (let i = 0; i < 50; i++) {
      try {
        process.kill(-child.pid!, 0);
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (ownsState) rmSync(persistTo, { recursive: true, force: true });
  };

  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`the server exited (${child.exitCode ?? child.signalCode}) before /health answered.\n--- output ---\n${out}`);
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) });
      last = `${res.status} ${await res.text()}`;
      if (res.status === 200) {
        return { url, port, adminToken, persistTo, output: () => out, stop };
      }
    } catch (err) {
      last = String((err as Error).cause ?? err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`GET ${url}/health did not answer 200 within ${timeoutMs} ms (last: ${last}).\n--- output ---\n${out}`);
}
