import { useE2EEnvironment } from './harness/e2e-environment';
import { SimulatedCrash, STEPS } from './harness/rotation-driver';
import { checkedRotation, expectNoViolations } from './harness/scenario';
import { RotationMode } from './harness/secrets-fixture';

const e = useE2EEnvironment('e2e-repeat');
afterEach(() => expectNoViolations(e));

describe.each<RotationMode>(['self', 'admin'])('%s rotation', (mode) => {
  test('every step invoked twice mints one token and completes', async () => {
    const secret = await e.secrets.createRotatedSecret({ mode });
    for (let i = 0; i < 3; i++) {
      const mintedBefore = (await e.astra.mintedTokens()).length;
      const result = await checkedRotation(e, secret, { invocationsPerStep: 2 });
      expect(result).toEqual(expect.objectContaining({ completed: true, attempts: 1, errors: [] }));
      expect((await e.astra.mintedTokens()).length).toBe(mintedBefore + 1);
    }
    await e.invariants.noStrayMintedTokens([secret], 'after repeated steps');
  });

  // A crash before step N+1 is a crash between steps N and N+1; "before createSecret" is the retry of a lost invocation.
  test.each([...STEPS])('a crash before %s, then the whole rotation retried with the same token', async (crashedStep) => {
    const secret = await e.secrets.createRotatedSecret({ mode });
    await checkedRotation(e, secret);
    const result = await checkedRotation(e, secret, {
      beforeStep: (ctx) => {
        if (ctx.attempt === 1 && ctx.step === crashedStep) throw new SimulatedCrash(crashedStep);
      },
    });
    expect(result).toEqual(expect.objectContaining({ completed: true, attempts: 2, errors: [] }));
    await e.invariants.noStrayMintedTokens([secret], `after a crash before ${crashedStep}`);
  });

  test('a crash after finishSecret: the retry finds the version already current and settles what it owes again', async () => {
    const secret = await e.secrets.createRotatedSecret({ mode });
    const result = await checkedRotation(e, secret);
    expect(result.completed).toBe(true);
    const lineCount = e.logs.lines.length;
    const again = await e.driver.invoke({ Step: 'finishSecret', SecretId: secret.arn, ClientRequestToken: result.token });
    expect(again).toBeUndefined();
    expect(e.logs.stepLines(lineCount).map((l) => l.outcome)).toEqual(['already-current, revocations settled']);
    await e.invariants.afterCompletedRotation(secret, 'after a repeated finishSecret');
  });
});
