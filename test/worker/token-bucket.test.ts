import { describe, expect, it } from 'vitest';
import { reconcile, refill, reserve, reserveAll, type LimitState } from '../../proxy/limits/token-bucket';

const T0 = 1_700_000_000_000;

describe('refill', () => {
  it('starts full and refills at capacity per minute, never past capacity', () => {
    expect(refill(undefined, 60, T0)).toEqual({ level: 60, at: T0 });
    expect(refill({ level: 0, at: T0 }, 60, T0 + 1000)).toEqual({ level: 1, at: T0 + 1000 });
    expect(refill({ level: 0, at: T0 }, 60, T0 + 30_000).level).toBe(30);
    expect(refill({ level: 50, at: T0 }, 60, T0 + 3_600_000).level).toBe(60);
  });

  it('ignores a clock that goes backwards', () => {
    expect(refill({ level: 5, at: T0 }, 60, T0 - 5000)).toEqual({ level: 5, at: T0 });
  });
});

describe('reserve', () => {
  it('lets a tenant burst its whole rpm, then refuses with the time until the next request', () => {
    let state: LimitState = {};
    for (let i = 0; i < 3; i++) {
      const decision = reserve(state, { rpm: 3, tpm: null }, 0, T0);
      expect(decision.allowed).toBe(true);
      expect(decision.requests).toEqual({ limit: 3, remaining: 2 - i, resetMs: (i + 1) * 20_000 });
      state = decision.state;
    }
    const refused = reserve(state, { rpm: 3, tpm: null }, 0, T0);
    expect(refused).toMatchObject({ allowed: false, exceeded: 'requests', retryAfterMs: 20_000 });
    expect(refused.requests?.remaining).toBe(0);
    // 20 s later one request has refilled.
    expect(reserve(state, { rpm: 3, tpm: null }, 0, T0 + 20_000).allowed).toBe(true);
  });

  it('reserves tokens, and takes nothing when either bucket refuses', () => {
    const limits = { rpm: 10, tpm: 1000 };
    const first = reserve({}, limits, 800, T0);
    expect(first.allowed).toBe(true);
    expect(first.tokens?.remaining).toBe(200);
    const refused = reserve(first.state, limits, 300, T0);
    expect(refused).toMatchObject({ allowed: false, exceeded: 'tokens', retryAfterMs: 6000 });
    // The refused call did not spend a request.
    expect(refused.requests?.remaining).toBe(9);
    expect(refused.state.requests?.level).toBe(9);
  });

  it('clamps a reservation larger than the bucket, so an idle tenant can always make one call', () => {
    const decision = reserve({}, { rpm: null, tpm: 1000 }, 50_000, T0);
    expect(decision.allowed).toBe(true);
    expect(decision.tokens?.remaining).toBe(0);
  });

  it('reports nothing for unlimited dimensions', () => {
    const decision = reserve({}, { rpm: null, tpm: null }, 10, T0);
    expect(decision).toMatchObject({ allowed: true, requests: null, tokens: null, state: {} });
  });
});

describe('reconcile', () => {
  const limits = { rpm: null, tpm: 1000 };

  it('refunds an over-reservation, capped at capacity', () => {
    const reserved = reserve({}, limits, 600, T0).state;
    expect(reconcile(reserved, limits, -500, T0).tokens?.level).toBe(900);
    expect(reconcile(reserved, limits, -5000, T0).tokens?.level).toBe(1000);
  });

  it('charges an under-reservation, leaving debt that later calls wait out', () => {
    const reserved = reserve({}, limits, 1000, T0).state;
    const debt = reconcile(reserved, limits, 500, T0);
    expect(debt.tokens?.level).toBe(-500);
    expect(reserve(debt, limits, 100, T0)).toMatchObject({ allowed: false, retryAfterMs: 36_000 });
  });

  it('leaves requests alone and does nothing without a tpm', () => {
    const state = reserve({}, { rpm: 5, tpm: null }, 0, T0).state;
    expect(reconcile(state, { rpm: 5, tpm: null }, 100, T0)).toBe(state);
  });
});

describe('reserveAll (a tenant and its key)', () => {
  const tenant = { rpm: 100, tpm: 10_000 };
  const key = { rpm: 2, tpm: null };

  it('takes from every scope, and reports the tighter bucket of each dimension', () => {
    const { decision, states } = reserveAll([{}, {}], [tenant, key], 500, T0);
    expect(decision).toMatchObject({ allowed: true, exceeded: null, retryAfterMs: 0 });
    expect(decision.requests).toMatchObject({ limit: 2, remaining: 1 });
    expect(decision.tokens).toMatchObject({ limit: 10_000, remaining: 9500 });
    expect(states[0].requests?.level).toBe(99);
    expect(states[1].requests?.level).toBe(1);
  });

  it('takes from none when one refuses, naming it and the dimension', () => {
    let states: LimitState[] = [{}, {}];
    for (let i = 0; i < 2; i++) states = reserveAll(states, [tenant, key], 10, T0).states;
    const refused = reserveAll(states, [tenant, key], 10, T0);
    expect(refused.decision).toMatchObject({ allowed: false, exceeded: { scope: 1, dimension: 'requests' }, retryAfterMs: 30_000 });
    expect(refused.decision.requests).toMatchObject({ limit: 2, remaining: 0 });
    // Unchanged: the tenant's bucket did not pay for the refused call.
    expect(refused.states).toBe(states);
    expect(states[0].requests?.level).toBe(98);
  });
});
