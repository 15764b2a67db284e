/** Astra's rate limit as the tests set it: beyond `callsPerSecond` calls in any second, calls are refused. */
export class RateLimit {
  private readonly acceptedAt: number[] = [];

  public constructor(public readonly callsPerSecond: number, public readonly retryAfterSeconds: number) {}

  /** A sliding one-second window over the calls that were let through. */
  public refuses(now = Date.now()): boolean {
    while (this.acceptedAt.length > 0 && this.acceptedAt[0] <= now - 1000) this.acceptedAt.shift();
    if (this.acceptedAt.length >= this.callsPerSecond) return true;
    this.acceptedAt.push(now);
    return false;
  }
}
