import { useTeardownHarness } from './teardown-harness';
import { AstraClient } from '../../../lambda/clients/astra-client';
import { AstraApiError } from '../../../lambda/logging/errors';
import { APP_ROLE } from '../support/fake-astra';
import { awsError } from '../support/fake-secrets-manager';

/*
 * The thirty-third adversarial review's cases (of d45c105..3396708) that its fixes closed: a value writer's malformed
 * version hint (A: rotation, B: teardown) names no version, and a 404 to a held token's own DELETE proves nothing (F).
 * Its C, C2, D and E are open limits (docs/rotation-design.md).
 */
const t = useTeardownHarness();
const h = t.h;
afterEach(() => {
  if (process.env.R33_DEBUG) {
    for (const l of h.lines().filter((x) => x.level !== 'INFO' || x.step === 'teardown')) process.stdout.write(`${JSON.stringify(l).slice(0, 900)}\n`);
  }
  jest.restoreAllMocks();
});

const forbidden = () => new AstraApiError('token test (GET /v2/currentOrg)', 403, 'HTTP 403: forbidden');
const teardownAlerts = (arn: string) => h.lines().filter((l) => l.alert === 'TokensLeftLiveOnDeletion' && l.secretArn === arn);
const namedAtAll = (arn: string) => teardownAlerts(arn).flatMap((l) => [...l.clientIds ?? [], ...l.notProvenClientIds ?? []]);
const outcome = (p: Promise<unknown>) => p.then(() => 'completed', (e: Error) => e.message.slice(0, 200));

/**
 * Secrets Manager's own check of GetSecretValue's VersionId (32 to 64 of [A-Za-z0-9-]): any other id is refused with a
 * ValidationException (HTTP 400), not ResourceNotFoundException, every time. The fake does not check it; this does.
 */
const versionIdsValidated = () => {
  const sm = h.sm as any;
  const call = sm.call.bind(sm);
  sm.call = async (operation: string, input: any, run: () => unknown) => {
    if (operation === 'GetSecretValue' && input.VersionId !== undefined && !/^[A-Za-z0-9-]{32,64}$/.test(input.VersionId)) {
      sm.calls.push({ operation, input });
      throw awsError('ValidationException', `1 validation error detected: Value '${input.VersionId}' at 'versionId' failed to satisfy constraint: Member must have length greater than or equal to 32`, 'client', 400);
    }
    return call(operation, input, run);
  };
};

describe('R33-A: a value writer\'s malformed version hint names no version: rotation goes on', () => {
  test('WHEN a PutSecretValue writer puts AWSCURRENT naming a live token of another team as a pending revocation, with a version hint Secrets Manager refuses as malformed THEN a later rotation still completes', async () => {
    const arn = await t.rotatedAdminSecret();
    versionIdsValidated();
    const victim = h.astra.issue([APP_ROLE], 'another team\'s working token');
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    t.put(arn, { ...real, pendingRevocations: [victim.clientId], pendingRevocationVersions: { [victim.clientId]: 'x' } });

    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) outcomes.push(await outcome(h.rotate(arn)));

    expect(h.astra.isLive(victim.clientId)).toBe(true);
    expect(outcomes).toContain('completed');
  });
});

describe('R33-B: a value writer\'s malformed version hint does not stop the teardown from revoking or naming the secret\'s tokens', () => {
  test('WHEN a PutSecretValue writer (no read access) puts a value over an admin-minted secret naming any clientId with a malformed version hint, and the stack is deleted THEN every live token of the secret is revoked or named in the alert', async () => {
    const arn = t.stack.adopt(await t.rotatedAdminSecret(), 'Secret');
    versionIdsValidated();
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    const own = [real.clientID as string, h.sm.valueAt(arn, 'AWSPREVIOUS').clientID as string];
    // Without the key: the writer cannot read the secret.
    t.put(arn, { engine: 'AstraDB', roleID: real.roleID, rootarn: real.rootarn, pendingRevocations: ['anything'], pendingRevocationVersions: { anything: 'x' } });

    const { answer } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    const liveOwn = own.filter((c) => h.astra.isLive(c));
    expect({ liveOwn, named: liveOwn.filter((c) => namedAtAll(arn).includes(c)) }).toEqual({ liveOwn, named: liveOwn });
  });
});

describe('R33-F: a 404 to the held key\'s own DELETE proves nothing', () => {
  test('WHEN an admin-minted secret\'s first (unmarked) token is answered 403 to everything, and the teardown\'s DELETE with that token as bearer meets one passing 404 THEN that token is revoked or named in the alert', async () => {
    const { arn, initial } = h.adminSecret();
    t.stack.adopt(arn, 'Secret');
    let passing404 = 0;
    const originalOrg = AstraClient.prototype.currentOrg;
    jest.spyOn(AstraClient.prototype, 'currentOrg').mockImplementation(async function (this: AstraClient, bearer: string) {
      if (bearer === initial.token) throw forbidden();
      return originalOrg.call(this, bearer);
    });
    const originalRevoke = AstraClient.prototype.revoke;
    jest.spyOn(AstraClient.prototype, 'revoke').mockImplementation(async function (this: AstraClient, bearer: string, clientId: string) {
      if (bearer === initial.token) {
        // An edge's 404 (a route it does not know for that key, a stale cache): Astra revoked nothing.
        if (passing404++ === 0) return 'already-revoked';
        throw forbidden();
      }
      return originalRevoke.call(this, bearer, clientId);
    });

    const { answer } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    expect(passing404).toBeGreaterThan(0);
    expect({ live: h.astra.isLive(initial.clientId), named: namedAtAll(arn).includes(initial.clientId) })
      .not.toEqual({ live: true, named: false });
  });
});
