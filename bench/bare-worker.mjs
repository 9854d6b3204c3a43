/**
 * The benchmarks' baseline: a Worker that passes each request to the upstream and its answer
 * back (streamed), doing nothing else. What the proxy adds is measured against this.
 *
 * With READ_IN_JS set, it passes the answer on by reading it in JavaScript, chunk by chunk, and
 * enqueueing each chunk unchanged, as any Worker that looks at a stream must (the proxy reads
 * every event to meter it). Plain pass-through never runs JavaScript for the body, so this second
 * baseline shows what reading a stream in a Worker costs by itself.
 */
export default {
  /**
   * @param {Request} request
   * @param {{ UPSTREAM: string, READ_IN_JS?: string }} env
   */
  async fetch(request, env) {
    const url = new URL(request.url);
    const upstream = await fetch(env.UPSTREAM + url.pathname + url.search, { method: request.method, headers: request.headers, body: request.body });
    if (!env.READ_IN_JS || !upstream.body) return upstream;
    const reader = upstream.body.getReader();
    const body = new ReadableStream({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(body, upstream);
  },
};
