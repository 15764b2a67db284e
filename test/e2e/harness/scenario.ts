import type { E2EEnvironment } from './e2e-environment';
import type { RotationOptions, RotationResult } from './rotation-driver';
import type { RotatedSecret } from './secrets-fixture';

export type CheckedRotationOptions = RotationOptions;

/**
 * One rotation through the driver with the invariants checked after every step and, when it completed, the live-token
 * invariant; the redaction invariant covers the errors it produced.
 */
export async function checkedRotation(e: E2EEnvironment, secret: RotatedSecret, options: CheckedRotationOptions = {}): Promise<RotationResult> {
  const result = await e.driver.rotate(secret.arn, {
    ...options,
    afterStep: async (ctx, error) => {
      await options.afterStep?.(ctx, error);
      await e.invariants.afterStep(secret, `${ctx.step}#${ctx.attempt}.${ctx.invocation}`);
    },
  });
  if (result.completed) await e.invariants.afterCompletedRotation(secret, `after rotation ${result.token}`);
  await e.invariants.redaction(result.errors, `rotation ${result.token}`);
  return result;
}

/** A scenario's closing checks: spec conformance of every Astra request, and the recorded invariant violations. */
export async function expectNoViolations(e: E2EEnvironment): Promise<void> {
  await e.invariants.astraContract('astra');
  await e.invariants.redaction([], 'logs');
  expect(e.invariants.takeViolations()).toEqual([]);
}
