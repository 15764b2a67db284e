const MODULUS = 2147483647; // 2^31 - 1
const MULTIPLIER = 48271;

/**
 * A small deterministic PRNG (Park-Miller, plain arithmetic: products stay below 2^53) so the soak's choices replay
 * exactly from the printed seed.
 */
export class SeededRandom {
  private state: number;

  constructor(public readonly seed: number) {
    this.state = (Math.abs(Math.floor(seed)) % (MODULUS - 1)) + 1;
  }

  public next(): number {
    this.state = (this.state * MULTIPLIER) % MODULUS;
    return (this.state - 1) / (MODULUS - 1);
  }

  public int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  public pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  public chance(p: number): boolean {
    return this.next() < p;
  }
}
