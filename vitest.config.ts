import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

// Read on the Node side (paths are relative to the project root, where vitest runs),
// applied inside the Workers runtime by test/worker/setup.ts.
const migrations = await readD1Migrations('./migrations');

declare module 'vitest' {
  export interface ProvidedContext {
    /** Port of the fake OpenAI/Anthropic upstream started by test/support/upstream-global-setup.ts. */
    upstreamPort: number;
  }
}

export default defineConfig({
  test: {
    projects: [
      {
        // Unit and integration tests inside workerd, against the Worker's real bindings.
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: './wrangler.jsonc' },
            miniflare: {
              bindings: {
                // Test-only bindings; see test/worker/harness.ts.
                TEST_MIGRATIONS: migrations,
                TEST_UPSTREAM_URL: `http://127.0.0.1:${inject('upstreamPort')}`,
                ADMIN_TOKEN: 'test-admin-token',
                // Local development, as npm start says: the short test token is accepted.
                ENVIRONMENT: 'development',
                // Real retries and fallbacks, with backoffs short enough for a test suite.
                UPSTREAM_RETRY_BASE_MS: '5',
              },
              // The request-log queue's consumer runs as soon as a message arrives, not after 5 s.
              queueConsumers: { 'ai-proxy-request-log': { maxBatchTimeout: 0.05 } },
            },
          })),
        ],
        test: {
          name: 'worker',
          include: ['test/worker/**/*.test.ts'],
          globalSetup: ['./test/support/upstream-global-setup.ts'],
          setupFiles: ['./test/worker/setup.ts'],
          testTimeout: 20_000,
        },
      },
      {
        // Whole-system tests: the real `npm start` server driven by real clients, from Node.
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        // The dashboard in real headless Chromium against the real server.
        test: {
          name: 'browser',
          environment: 'node',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        // Checks of the source tree itself, from Node: no import cycles, and what analytics/ may import.
        test: {
          name: 'repo',
          environment: 'node',
          include: ['test/repo/**/*.test.ts'],
        },
      },
    ],
  },
});
