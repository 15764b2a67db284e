import { createSecrets, startRotationEnvironment } from './rotation-env';
import { round } from './stats';

export interface FanOutResult {
  readonly secrets: number;
  readonly callsPerSecond: number;
  readonly wallSeconds: number;
  readonly completed: number;
  readonly attempts: number;
  readonly astraCallsAnswered: number;
  readonly answered429: number;
  readonly astraCallsPerRotation: number;
  readonly answered429PerRotation: number;
  /** The shortest wall time Astra's rate allows for the calls answered: calls answered / calls a second. */
  readonly physicalLimitSeconds: number;
  /** Wall time over the physical limit; the goal is at most 1.3. */
  readonly ratioToLimit: number;
  readonly method: string;
}

/**
 * "Rotate them all now", timed: `secretsCount` secrets (half self-rotating, half minted by admin secrets), each rotated
 * twice before, rotate at the same moment through one function process, against an Astra emulator that answers 429
 * beyond `callsPerSecond`. Rotated twice before, each owes the revocation of a token it minted: every rotation makes
 * the calls of a rotation in service (list, mint, test, list, revoke), not the fewer of a first one, nor the possession
 * check that a hand-stored first token needs.
 */
export async function measureFanOut(bundle: string, secretsCount = 60, callsPerSecond = 5): Promise<FanOutResult> {
  const ctx = await startRotationEnvironment(bundle, { countSmCalls: false });
  try {
    const self = await createSecrets(ctx, 'self', Math.ceil(secretsCount / 2));
    const admin = await createSecrets(ctx, 'admin', Math.floor(secretsCount / 2));
    const secrets = [...self, ...admin];
    for (let before = 0; before < 2; before++) {
      for (const result of await Promise.all(secrets.map((s) => ctx.driver.rotate(s.arn, { maxAttempts: 1 })))) {
        if (!result.completed) throw new Error(`fan-out: a rotation before the rate limit failed: ${result.errors[0]?.message}`);
      }
    }
    await ctx.astra.setRateLimit(callsPerSecond, 1);
    const from = (await ctx.astra.records()).requests.length;
    const began = Date.now();
    // Secrets Manager retries a failed rotation "multiple times"; three attempts is what the driver grants.
    const results = await Promise.all(secrets.map((s) => ctx.driver.rotate(s.arn, { maxAttempts: 3 })));
    const wallSeconds = round((Date.now() - began) / 1000, 1);
    const requests = (await ctx.astra.records()).requests.slice(from);
    const answered429 = requests.filter((r) => r.status === 429).length;
    const completed = results.filter((r) => r.completed).length;
    if (completed !== secretsCount) {
      const errors = results.filter((r) => !r.completed).map((r) => r.errors[r.errors.length - 1]?.message);
      throw new Error(`fan-out: ${secretsCount - completed} rotations did not complete: ${errors.join(' | ')}`);
    }
    const physicalLimitSeconds = (requests.length - answered429) / callsPerSecond;
    return {
      secrets: secretsCount,
      callsPerSecond,
      wallSeconds,
      completed,
      attempts: results.reduce((n, r) => n + r.attempts, 0),
      astraCallsAnswered: requests.length - answered429,
      answered429,
      astraCallsPerRotation: round((requests.length - answered429) / completed, 2),
      answered429PerRotation: round(answered429 / completed, 1),
      physicalLimitSeconds: round(physicalLimitSeconds, 1),
      ratioToLimit: round(wallSeconds / physicalLimitSeconds, 2),
      method: 'The secrets (half self-rotating, half minted by admin secrets), each rotated twice before without a rate limit, ' +
        'rotate at once through one function process ' +
        `with the production defaults; the Astra emulator answers 429 (Retry-After: 1) beyond ${callsPerSecond} calls in any second. ` +
        'Wall time from the first RotateSecret to the last finishSecret; the physical limit is the Astra calls answered divided by ' +
        `${callsPerSecond} a second, the least time the rate allows for them.`,
    };
  } finally {
    await ctx.stop();
  }
}
