/** What the fake Analytics Engine SQL API answers (test/support/upstream-server.ts); free of Node types, as worker tests import it too. */
export const AE_FIXTURE = {
  sums: {
    requests: 1000,
    errors: 25,
    upstream_calls: 820,
    upstream_errors: 9,
    prompt_tokens: 500000,
    completion_tokens: 120000,
    cached_tokens: 64000,
    cost_nano: 1234567890,
    saved_nano: 5000000,
    cache_hits: 40,
    cache_misses: 160,
    cheap_tokens: 434000,
    tiered_tokens: 620000,
  },
  latency: { p50: 412.4, p95: 1830.9, p99: 4200 },
  ttft: { p50: 180, p95: 640.2, p99: 900 },
};
