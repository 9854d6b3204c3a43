/**
 * A tenant's exact budget ledger, as the tenant's limits object keeps it (limits/stores.ts):
 * every admission and settlement of the tenant's calls, in turn. It knows the month's spend as
 * it learns it (its own settlements, or D1's total when that is higher: calls settled without
 * it) and the reservations of the calls in flight. Pure, so it is tested without the object.
 */

/** The ledger's answer to a reservation: admitted or not, and what was spent or held when it decided. */
export interface SpendDecision {
  allowed: boolean;
  committedNano: number;
}

export class SpendLedger {
  private month = '';
  private spentNano = 0;
  private reservedNano = 0;

  private roll(month: string, d1SpentNano: number) {
    if (month !== this.month) {
      this.month = month;
      this.spentNano = 0;
      this.reservedNano = 0;
    }
    this.spentNano = Math.max(this.spentNano, d1SpentNano);
  }

  /** Admits a call while spend and reservations are below the budget, holding `estimateNano` for it. */
  reserve(month: string, budgetNano: number, d1SpentNano: number, estimateNano: number): SpendDecision {
    this.roll(month, d1SpentNano);
    const committedNano = this.spentNano + this.reservedNano;
    if (committedNano >= budgetNano) return { allowed: false, committedNano };
    this.reservedNano += estimateNano;
    return { allowed: true, committedNano };
  }

  /** Replaces a call's reservation with its real cost. */
  settle(month: string, estimateNano: number, costNano: number): void {
    if (month !== this.month) return;
    this.reservedNano = Math.max(0, this.reservedNano - estimateNano);
    this.spentNano += costNano;
  }
}
