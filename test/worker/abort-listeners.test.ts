/**
 * Abort listeners on a call's signal are removed once they are of no use: one per failed attempt
 * (failover.ts) or per streamed chunk (the mock provider) would pile up over a long call.
 */
import { describe, expect, it } from 'vitest';
import type { Env } from '../../proxy/core/env';
import { ProxyError } from '../../proxy/core/errors';
import { DEFAULT_POLICY, withFailover } from '../../proxy/routing/failover';
import type { ResolvedModel } from '../../proxy/routing/models';
import { mock } from '../../proxy/providers/mock';

/** A signal that counts the abort listeners currently on it. */
function countedSignal() {
  const controller = new AbortController();
  const signal = controller.signal;
  const listeners = new Set<unknown>();
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((type: string, listener: EventListener, options?: EventTargetAddEventListenerOptions) => {
    listeners.add(listener);
    add(type, listener, options);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((type: string, listener: EventListener) => {
    listeners.delete(listener);
    remove(type, listener);
  }) as typeof signal.removeEventListener;
  return { signal, listeners };
}

describe('abort listeners', () => {
  it('of failed attempts are removed; only the answering attempt keeps one', async () => {
    const { signal, listeners } = countedSignal();
    const model = { requested: 'm', id: 'mock/mock-mini', provider: 'mock', model: 'mock-mini', tier: 'cheap', reason: 'model', price: null } as ResolvedModel;
    let calls = 0;
    const run = async () => {
      if (++calls < 4) throw new ProxyError(503, 'busy', { type: 'upstream_error' });
      return 'answer';
    };
    const policy = { ...DEFAULT_POLICY, maxRetries: 3, retryBaseMs: 1 };
    expect(await withFailover([model], policy, signal, run, { onAttempt() {}, onFailure() {} })).toBe('answer');
    expect(listeners.size).toBe(1);
  });

  it('of the mock provider’s chunk delays are removed as each delay ends', async () => {
    const { signal, listeners } = countedSignal();
    const env = { MOCK_CHUNK_DELAY_MS: '1' } as Env;
    const result = await mock.chat({
      model: 'mock-mini',
      body: { model: 'mock-mini', stream: true, messages: [{ role: 'user', content: 'a long story please' }] },
      env,
      signal,
    });
    if (result.kind !== 'stream') throw new Error('expected a stream');
    let parts = 0;
    while ((await result.parts.read()) !== null) parts++;
    expect(parts).toBeGreaterThan(5);
    expect(listeners.size).toBe(0);
  });
});
