import { useE2EEnvironment } from './harness/e2e-environment';
import { markedFor } from './harness/invariants';
import { checkedRotation, expectNoViolations } from './harness/scenario';
import { RotationMode } from './harness/secrets-fixture';

const e = useE2EEnvironment('e2e-happy');
afterEach(() => expectNoViolations(e));

describe.each<RotationMode>(['self', 'admin'])('%s rotation', (mode) => {
  test('happy path: a new working token in AWSCURRENT, the old one in AWSPREVIOUS, user keys untouched', async () => {
    const secret = await e.secrets.createRotatedSecret({ mode });
    const before = (await e.secrets.readStage(secret.arn, 'AWSCURRENT'))!;
    const logFrom = e.logs.lines.length;
    const result = await checkedRotation(e, secret);
    expect(result).toEqual(expect.objectContaining({ completed: true, attempts: 1, errors: [] }));
    const current = JSON.parse((await e.secrets.readStage(secret.arn, 'AWSCURRENT'))!.value!);
    const previous = await e.secrets.readStage(secret.arn, 'AWSPREVIOUS');
    expect(previous!.versionId).toBe(before.versionId);
    expect(current.clientID).not.toBe(secret.seedClientIds[0]);
    expect(current.orgId).toBe(e.astra.orgId);
    const minted = (await e.astra.mintedTokens()).find((t) => t.clientId === current.clientID)!;
    // The mark: this secret (by its ARN's digest) and version, and for a person the account, region and name.
    expect(markedFor(minted.description, secret, result.token)).toBe(true);
    expect(minted.description).toMatch(new RegExp(`version=${result.token} mint=[0-9a-f]{8} 123456789012:us-east-1:${secret.name}-[A-Za-z0-9]{6}$`));
    expect(e.logs.stepLines(logFrom).map((l) => l.step)).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
  });

  test('10 rotations in a row', async () => {
    const secret = await e.secrets.createRotatedSecret({ mode });
    for (let i = 0; i < 10; i++) {
      expect((await checkedRotation(e, secret)).completed).toBe(true);
    }
    await e.invariants.noStrayMintedTokens([secret], 'after 10 rotations');
  });
});
