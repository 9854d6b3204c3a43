// `npm run bench`: benchmarks of request-path code under Node's V8 (the engine workerd runs).
// Inside a Worker, timers only advance across I/O, so CPU cost is measured here instead.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'bench',
    environment: 'node',
    benchmark: { include: ['bench/**/*.bench.ts'] },
  },
});
