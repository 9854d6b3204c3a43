/** The exact budget ledger a tenant's Durable Object keeps: reservations hold the budget until the calls settle. */
import { describe, expect, it } from 'vitest';
import { SpendLedger } from '../../proxy/limits/spend-ledger';

describe('SpendLedger', () => {
  it('admits while spend and reservations are below the budget, then refuses until calls settle', () => {
    const ledger = new SpendLedger();
    const decisions = Array.from({ length: 5 }, () => ledger.reserve('2026-12', 100, 0, 30));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, false]);
    expect(decisions[4].committedNano).toBe(120);
    // One call ends costing 5: its 30 are released, 5 are spent.
    ledger.settle('2026-12', 30, 5);
    expect(ledger.reserve('2026-12', 100, 0, 30).allowed).toBe(true);
  });

  it("takes D1's total when it is higher (calls settled elsewhere), and starts a new month afresh", () => {
    const ledger = new SpendLedger();
    ledger.reserve('2026-12', 100, 0, 10);
    expect(ledger.reserve('2026-12', 100, 95, 10)).toEqual({ allowed: false, committedNano: 105 });
    expect(ledger.reserve('2027-01', 100, 0, 10)).toEqual({ allowed: true, committedNano: 0 });
    // A settlement of last month's call does not touch the new month.
    ledger.settle('2026-12', 10, 50);
    expect(ledger.reserve('2027-01', 100, 0, 10)).toEqual({ allowed: true, committedNano: 10 });
  });
});
