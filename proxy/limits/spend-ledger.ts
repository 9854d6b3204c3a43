/**
 * A tenant's exact budget ledger, as the tenant's limits object keeps it (limits/stores.ts):
 * every admission and settlement of the tenant's calls, in turn, for the tenant's budget and its
 * keys' (each a scope, limits/scope.ts). Per scope it knows the month's spend as it learns it
 * (its own settlements, or D1's total when that is higher: calls settled without it) and the
 * reservations of the calls in flight. Pure, so it is tested without the object.
 */

/** The ledger's answer to a reservation: admitted, or which budget refused and what was spent or held in it. */
export type SpendDecision = { allowed: true } | { allowed: false; refused: number; committedNano: number };

/** One budget a call must fit in: a scope's (by name), with its month-to-date spend as D1 last said. */
export interface BudgetCheck {
  scope: string;
  budgetNano: number;
  d1SpentNano: number;
}

interface ScopeSpend {
  spentNano: number;
  reservedNano: number;
}

export class SpendLedger {
  private month = '';
  private readonly scopes = new Map<string, ScopeSpend>();

  private spendOf(month: string, { scope, d1SpentNano }: BudgetCheck): ScopeSpend {
    if (month !== this.month) {
      this.month = month;
      this.scopes.clear();
    }
    let spend = this.scopes.get(scope);
    if (!spend) this.scopes.set(scope, (spend = { spentNano: 0, reservedNano: 0 }));
    spend.spentNano = Math.max(spend.spentNano, d1SpentNano);
    return spend;
  }

  /**
   * Admits a call while, in every budget, spend and reservations are below the budget, holding
   * `estimateNano` in each; refused by one, it holds nothing in any.
   */
  reserve(month: string, checks: BudgetCheck[], estimateNano: number): SpendDecision {
    const spends = checks.map((check) => this.spendOf(month, check));
    for (let i = 0; i < checks.length; i++) {
      const committedNano = spends[i].spentNano + spends[i].reservedNano;
      if (committedNano >= checks[i].budgetNano) return { allowed: false, refused: i, committedNano };
    }
    for (const spend of spends) spend.reservedNano += estimateNano;
    return { allowed: true };
  }

  /** Replaces a call's reservation with its real cost, in each scope it reserved in. */
  settle(month: string, scopes: string[], estimateNano: number, costNano: number): void {
    if (month !== this.month) return;
    for (const scope of scopes) {
      const spend = this.scopes.get(scope);
      if (!spend) continue;
      spend.reservedNano = Math.max(0, spend.reservedNano - estimateNano);
      spend.spentNano += costNano;
    }
  }
}
