/**
 * A failure the handler can explain: `reason` says what is wrong, `remedy` what the operator should do.
 * The handler prefixes both with the step, secret ARN and version before it throws.
 */
export class RotationFailure extends Error {
  constructor(public readonly reason: string, public readonly remedy: string) {
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

/** Duck-typed: SDK and fetch errors may come from another realm, where `instanceof Error` is false. */
export function messageOf(error: unknown): string {
  const failure = (error ?? {}) as { name?: unknown; message?: unknown };
  if (typeof failure.message !== 'string') return String(error);
  const plain = error instanceof RotationFailure || error instanceof AstraApiError || failure.name === 'Error' || typeof failure.name !== 'string';
  return plain ? failure.message : `${failure.name as string}: ${failure.message}`;
}
