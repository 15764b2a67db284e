/**
 * A failure the handler can explain: `reason` says what is wrong, `remedy` what the operator should do.
 * The handler prefixes both with the step, secret ARN and version before it throws.
 */
export class RotationFailure extends Error {
  /**
   * `handsOn`: the remedy asks a person to act (a token left live, a cause only they can fix). The handler then keeps
   * it whatever else slowed the step down: a rate limit's remedy says there is nothing to do.
   */
  constructor(public readonly reason: string, public readonly remedy: string, public readonly handsOn = false) {
    super(remedy ? `${reason} ${remedy}` : reason);
    this.name = 'RotationFailure';
  }
}

/**
 * An Astra DevOps API call that did not succeed. `status` is absent when no HTTP answer came (timeout, network);
 * `sent` is false when the request never left because the invocation's time was up, so Astra cannot have acted on it.
 */
export class AstraApiError extends Error {
  constructor(
    public readonly operation: string,
    public readonly status: number | undefined,
    public readonly detail: string,
    public readonly sent: boolean = true,
  ) {
    super(status === undefined ? `Astra ${operation} failed: ${detail}` : `Astra ${operation} answered HTTP ${status}: ${detail}`);
    this.name = 'AstraApiError';
  }
}

/**
 * The remedy of a step that failed because Astra's rate limit (or Secrets Manager's throttling) left no time to finish:
 * too many rotations at once, not a wrong role or token, so it never sends the operator to them.
 */
export function rateLimitRemedy(service: 'Astra' | 'Secrets Manager'): string {
  return `${service} is limiting the rate of calls, and this invocation ran out of time waiting for its turn: too many rotations run at once. `
    + 'Nothing to fix for one failure: Secrets Manager retries the rotation, which goes on from what is stored. If it recurs, fewer secrets '
    + 'should rotate at the same moment: spread their schedules or rotation windows, or rotate them in batches (docs/operations.md, "Many secrets").';
}

/** What a failure says went wrong, without its remedy (an error from elsewhere is all reason). */
export function reasonOf(error: unknown): string {
  return error instanceof RotationFailure ? error.reason : messageOf(error);
}

/** Duck-typed: SDK and fetch errors may come from another realm, where `instanceof Error` is false. */
export function messageOf(error: unknown): string {
  const failure = (error ?? {}) as { name?: unknown; message?: unknown };
  if (typeof failure.message !== 'string') return String(error);
  const plain = error instanceof RotationFailure || error instanceof AstraApiError || failure.name === 'Error' || typeof failure.name !== 'string';
  return plain ? failure.message : `${failure.name as string}: ${failure.message}`;
}
