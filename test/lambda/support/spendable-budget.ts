import { TimeBudget } from '../../../lambda/clients/time-budget';

/** A time budget that only the test spends: fake waits use it up without the test waiting. */
export class SpendableBudget extends TimeBudget {
  private left: number;

  constructor(private readonly total: number) {
    super(Number.POSITIVE_INFINITY);
    this.left = total;
  }

  public fractionLeft(): number {
    return this.left / this.total;
  }

  public spend(ms: number): void {
    this.left = Math.max(0, this.left - ms);
  }

  public remainingMs(): number {
    return this.left;
  }

  public allows(ms: number): boolean {
    return ms <= this.left;
  }
}
