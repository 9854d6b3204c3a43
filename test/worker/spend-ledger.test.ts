/** The exact budget ledger a tenant's Durable Object keeps: reservations hold the budget until the calls settle. */
import { describe, expect, it } from 'vitest';
import { SpendLedger } from '../../proxy/limits/spend-ledger';

const tenant = (budgetNano: number, d1SpentNano = 0) => ({ scope: 'ten_a', budgetNano, d1SpentNano });
const key = (budgetNano: number, d1SpentNano = 0) => ({ scope: 'key:key_a', budgetNano, d1SpentNano });

describe('SpendLedger', () => {
  it('admits while spend and reservations are below the budget, then refuses until calls settle', () => {
    const ledger = new SpendLedger();
    const decisions = Array.from({ length: 5 }, () => ledger.reserve('2026-12', [tenant(100)], 30));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, false]);
    expect(decisions[4]).toEqual({ allowed: false, refused: 0, committedNano: 120 });
    // One call ends costing 5: its 30 are released, 5 are spent.
    ledger.settle('2026-12', ['ten_a'], 30, 5);
    expect(ledger.reserve('2026-12', [tenant(100)], 30).allowed).toBe(true);
  });

  it("takes D1's total when it is higher (calls settled elsewhere), and starts a new month afresh", () => {
    const ledger = new SpendLedger();
    ledger.reserve('2026-12', [tenant(100)], 10);
    expect(ledger.reserve('2026-12', [tenant(100, 95)], 10)).toEqual({ allowed: false, refused: 0, committedNano: 105 });
    expect(ledger.reserve('2027-01', [tenant(100)], 10)).toEqual({ allowed: true });
    // A settlement of last month's call does not touch the new month.
    ledger.settle('2026-12', ['ten_a'], 10, 50);
    expect(ledger.reserve('2027-01', [tenant(10)], 1)).toEqual({ allowed: false, refused: 0, committedNano: 10 });
  });

  it('holds in every budget of a call or in none: a key refused holds nothing in its tenant', () => {
    const ledger = new SpendLedger();
    expect(ledger.reserve('2026-12', [tenant(100), key(30)], 30)).toEqual({ allowed: true });
    expect(ledger.reserve('2026-12', [tenant(100), key(30)], 30)).toEqual({ allowed: false, refused: 1, committedNano: 30 });
    // The refused call holds nothing in the tenant: another key's calls fill exactly what is left.
    const other = { scope: 'key:key_b', budgetNano: 1000, d1SpentNano: 0 };
    expect(ledger.reserve('2026-12', [tenant(100), other], 35).allowed).toBe(true);
    expect(ledger.reserve('2026-12', [tenant(100), other], 35).allowed).toBe(true);
    expect(ledger.reserve('2026-12', [tenant(100), other], 35)).toEqual({ allowed: false, refused: 0, committedNano: 100 });
    // Settling the first key's call releases its hold in both.
    ledger.settle('2026-12', ['ten_a', 'key:key_a'], 30, 1);
    expect(ledger.reserve('2026-12', [tenant(100), key(30)], 29)).toEqual({ allowed: true });
  });
});
