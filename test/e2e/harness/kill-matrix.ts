import { useE2EEnvironment } from './e2e-environment';
import { KillPoint } from './kill-switch';
import { checkedRotation, expectNoViolations } from './scenario';
import { RevocationPolicy, RotationMode } from './secrets-fixture';

const POLICIES: RevocationPolicy[] = ['AT_NEXT_ROTATION', 'IMMEDIATELY'];
const POINTS: KillPoint[] = ['before-send', 'after-processed'];

/**
 * For each policy and kill point: the function is SIGKILLed at its k-th outgoing call of a rotation, for every k of a
 * full rotation, and Secrets Manager's retry (the driver) must complete it with every invariant holding after every
 * step and, once complete, exactly the tokens the policy keeps live.
 */
export function killMatrix(mode: RotationMode): void {
  const e = useE2EEnvironment(`e2e-kill-${mode}`);
  afterEach(() => expectNoViolations(e));

  describe.each(POLICIES)(`${mode} rotation, %s`, (policy) => {
    test.each(POINTS)('killed at every call of a rotation, %s', async (point) => {
      const secret = await e.secrets.createRotatedSecret({ mode, policyTag: policy });
      // Two rotations first, so that AWSPREVIOUS holds a marked token and the rotation does all it ever does.
      for (let i = 0; i < 2; i++) expect((await checkedRotation(e, secret)).completed).toBe(true);
      e.killSwitch.resetCount();
      expect((await checkedRotation(e, secret)).completed).toBe(true);
      const callName = (what: string) => what.replace(/\/v2\/clientIdSecrets\/\w+$/, '/v2/clientIdSecrets/{clientId}');
      const calls = e.killSwitch.calls.map((c) => callName(c.what));
      expect(calls.length).toBeGreaterThan(10);

      const killedAt: string[] = [];
      for (let k = 1; k <= calls.length; k++) {
        const startsBefore = e.lambda.starts;
        const result = await checkedRotation(e, secret, {
          maxAttempts: 3,
          beforeStep: (ctx) => {
            if (ctx.attempt === 1 && ctx.step === 'createSecret') e.killSwitch.arm(k, point);
            if (ctx.attempt === 2) e.killSwitch.disarm();
          },
        });
        expect(e.killSwitch.fired?.index).toBe(k);
        killedAt.push(callName(e.killSwitch.fired!.what));
        expect(result).toEqual(expect.objectContaining({ completed: true, attempts: 2 }));
        expect(e.lambda.starts).toBe(startsBefore + 1);
        await e.invariants.noStrayMintedTokens([secret], `killed ${point} call ${k} (${e.killSwitch.fired!.what})`);
      }
      // Every call of the rotation was a kill point, in the order the rotation makes them.
      expect(killedAt).toEqual(calls);
    }, 240_000);
  });
}
