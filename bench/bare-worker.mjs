/**
 * The benchmarks' baseline: a Worker that passes each request to the upstream and its answer
 * back (streamed), doing nothing else. What the proxy adds is measured against this.
 */
export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.UPSTREAM + url.pathname + url.search, { method: request.method, headers: request.headers, body: request.body });
  },
};
