/**
 * A response-cache hit, answered in the endpoint's API: the stored answer as it was first
 * served, or replayed as that API's stream. It consumes no tokens, so its whole reservation is
 * given back, and it is logged at zero cost with the cost it saved.
 */
import type { CachedCompletion } from '../cache/response-cache';
import type { AppContext } from '../http/context';
import type { PartReader } from '../streaming/parts';
import { formatUsd, logCall, routingHeaders } from './call';
import { streamResponse, type StreamHandling } from './stream-response';

/** How a hit asked for as a stream is replayed: the stored answer as the endpoint's stream parts, and how they are written. */
export type StreamReplay = { parts: PartReader } & Pick<StreamHandling, 'framing' | 'assembler' | 'includeUsage'>;

export function answerFromCache(c: AppContext, hit: CachedCompletion, replay: StreamReplay | null): Response {
  const headers = routingHeaders(c.get('call'), 'HIT');
  if (replay) {
    const { parts, ...handling } = replay;
    return streamResponse(c, { parts }, headers, { ...handling, cache: 'HIT' });
  }
  logCall(c, { status: 200, usage: hit.usage, cache: 'HIT', responseText: hit.json });
  return new Response(hit.json, { headers: { 'content-type': 'application/json', ...headers, 'x-proxy-cost-usd': formatUsd(0) } });
}
