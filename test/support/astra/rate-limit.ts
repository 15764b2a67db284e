/** Astra's rate limit as the tests set it: beyond `callsPerSecond` calls in any second, calls are refused. */
export class RateLimit {
  private acceptedAt: number[] = [];

  public constructor(public readonly callsPerSecond: number, public readonly retryAfterSeconds: number) {}

  /** A sliding one-second window over the calls that were let through. */
  public refuses(now = Date.now()): boolean {
    // A test's mocked clock may jump back when it is restored: a call stamped later than now is not one of the last second.
    this.acceptedAt = this.acceptedAt.filter((at) => at > now - 1000 && at <= now);
    if (this.acceptedAt.length >= this.callsPerSecond) return true;
    this.acceptedAt.push(now);
    return false;
  }
}
