import { FOREIGN_ORG, useTeardownHarness } from './teardown-harness';
import { ADMIN_ROLE } from '../support/fake-astra';
import { awsError } from '../support/fake-secrets-manager';
import { POLICY_TAG } from '../support/harness';

/*
 * A value put over a self-rotating secret twice moves its own tokens out of both stages; when the values hold a token
 * of the writer's own org, no token of the secret's org is left in them to list its tokens by their mark. The teardown
 * finds them in the secret's unlabelled versions, read before it deletes the secret.
 */
const t = useTeardownHarness();
const h = t.h;

/** A token of another org that the writer holds: Astra lists only it, and names that org, for its first list and org reads. */
function writersOwnOrgToken() {
  const token = h.astra.issue([ADMIN_ROLE], 'writer token');
  const onlyIt = { clients: [{ clientId: token.clientId, roles: [ADMIN_ROLE], description: 'writer token', generatedOn: new Date().toISOString() }] };
  h.astra.fail({ method: 'GET', path: /^\/v2\/clientIdSecrets$/, status: 200, body: JSON.stringify(onlyIt), times: 1 });
  h.astra.fail({ method: 'GET', path: /^\/v2\/currentOrg$/, status: 200, body: JSON.stringify({ id: FOREIGN_ORG }), times: 1 });
  return token;
}

describe('GIVEN a self-rotating secret rotated twice, whose values a writer then replaced with a token of their own org', () => {
  test.each([
    ['twice with their token', 2, false],
    ['three times with their token', 3, false],
    ['with a dead token, then with their token', 2, true],
  ])('WHEN the stack is deleted after puts %s THEN the secret\'s own tokens are revoked', async (_how, puts, deadFirst) => {
    const [arn] = await t.rotatedTwice(1);
    const own = t.liveMarked(arn);
    expect(own).toHaveLength(2);
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    const foreign = writersOwnOrgToken();
    for (let i = 0; i < puts; i++) {
      const token = deadFirst && i === 0 ? t.deadToken() : foreign;
      t.put(arn, { ...t.withToken(real, token), orgId: FOREIGN_ORG, pendingRevocations: [] });
    }

    const { answer, alerts } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    expect(h.sm.secrets.has(arn)).toBe(false);
    expect(own.filter((c) => h.astra.isLive(c))).toEqual([]);
    expect(alerts).toEqual([]);
  });
});

describe('GIVEN a self-rotating secret that never rotated, whose bootstrap value a writer replaced twice', () => {
  test('WHEN the stack is deleted THEN the bootstrap token, live and not marked as the secret\'s, is named in the alert as a claim, not revoked', async () => {
    const [arn] = t.selfSecrets(1);
    const bootstrap = h.sm.valueAt(arn, 'AWSCURRENT');
    const foreign = writersOwnOrgToken();
    t.put(arn, { ...t.withToken(bootstrap, foreign), orgId: FOREIGN_ORG });
    t.put(arn, { ...t.withToken(bootstrap, foreign), orgId: FOREIGN_ORG });

    const { answer, alerts } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    expect(h.astra.isLive(bootstrap.clientID)).toBe(true);
    expect(alerts).toEqual([expect.objectContaining({
      alert: 'TokensLeftLiveOnDeletion',
      secretArn: arn,
      notProvenClientIds: expect.arrayContaining([bootstrap.clientID]),
      message: expect.stringContaining('earlier versions hold live tokens that Astra does not list as its own'),
    })]);
  });
});

/** The full token a secret's AWSCURRENT holds, in the shape withToken takes. */
const currentTokenOf = (arn: string) => {
  const value = h.sm.valueAt(arn, 'AWSCURRENT');
  return { clientId: value.clientID as string, token: value.astraKey as string, secret: value.clientSecret as string };
};

/** A writer puts `token` into the secret, then two values with dead tokens over it: no stage names it any more. */
const buryIn = (arn: string, token: { clientId: string; token: string; secret: string }) => {
  const real = h.sm.valueAt(arn, 'AWSCURRENT');
  for (const each of [token, t.deadToken(), t.deadToken()]) t.put(arn, { ...t.withToken(real, each), pendingRevocations: [] });
};

describe('GIVEN a writer who buried another secret\'s or the admin\'s working token in a leaving secret\'s versions (the twenty-seventh review)', () => {
  test('WHEN an update\'s cleanup deletes the secret and its sibling stays THEN the sibling\'s AWSCURRENT stays live, named as a claim', async () => {
    const [leaving, sibling] = await t.rotatedTwice(2);
    const siblings = currentTokenOf(sibling);
    buryIn(leaving, siblings);
    t.stack.removeFromTemplate('Self0');
    t.stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    t.stack.teardown('teardown-2');

    const { answer, alerts } = await t.send('Delete', [leaving, sibling], { physicalId: 'teardown-1' });

    expect({ status: answer.Status, siblingExists: h.sm.secrets.has(sibling), siblingLive: h.astra.isLive(siblings.clientId) })
      .toEqual({ status: 'SUCCESS', siblingExists: true, siblingLive: true });
    expect(alerts).toEqual([expect.objectContaining({ secretArn: leaving, notProvenClientIds: expect.arrayContaining([siblings.clientId]) })]);
  });

  test('WHEN the stack is deleted and the sibling is retained THEN the retained secret keeps a live AWSCURRENT', async () => {
    const [leaving] = await t.rotatedTwice(1);
    const { arn: raw } = h.selfSecret();
    await h.rotate(raw);
    await h.rotate(raw);
    const kept = t.stack.adopt(raw, 'Kept', { DeletionPolicy: 'Retain' });
    const keptToken = currentTokenOf(kept);
    buryIn(leaving, keptToken);

    await t.send('Delete', [leaving, kept]);

    expect({ keptExists: h.sm.secrets.has(kept), keptLive: h.astra.isLive(keptToken.clientId) }).toEqual({ keptExists: true, keptLive: true });
  });

  test('WHEN the stack is deleted THEN a buried admin token stays live, and the secret\'s own tokens are revoked', async () => {
    const [leaving] = await t.rotatedTwice(1);
    const own = t.liveMarked(leaving);
    buryIn(leaving, h.admin);

    const { alerts } = await t.send('Delete', [leaving]);

    expect({ adminLive: h.astra.isLive(h.admin.clientId), ownLive: own.filter((c) => h.astra.isLive(c)) }).toEqual({ adminLive: true, ownLive: [] });
    expect(alerts).toEqual([expect.objectContaining({ secretArn: leaving, notProvenClientIds: expect.arrayContaining([h.admin.clientId]) })]);
  });
});

describe('GIVEN a secret whose AWSCURRENT cannot be proven a rotation\'s, and whose unlabelled versions fail to read', () => {
  /** Astra's list fails (500, three tries): AWSCURRENT's mark cannot be seen, so its unlabelled versions are read. */
  const listDown = () => h.astra.fail({ method: 'GET', path: /^\/v2\/clientIdSecrets$/, status: 500, times: 3 });

  test('WHEN ListSecretVersionIds fails THEN the secret is deleted, its tokens revoked, and the alert says its earlier versions are unknown', async () => {
    const [arn] = await t.rotatedTwice(1);
    const tokens = t.tokensOf(arn);
    listDown();
    h.sm.failNext('ListSecretVersionIds');

    const { answer, alerts } = await t.send('Delete', [arn]);

    expect({ status: answer.Status, deleted: !h.sm.secrets.has(arn), live: tokens.filter((c) => h.astra.isLive(c)) }).toEqual({ status: 'SUCCESS', deleted: true, live: [] });
    expect(alerts).toEqual([expect.objectContaining({ secretArn: arn, message: expect.stringContaining('its earlier versions could not be read') })]);
  });

  test('WHEN an unlabelled version never decrypts THEN the secret is deleted, its stages\' tokens revoked, and the alert says its earlier versions are unknown', async () => {
    const [arn] = await t.rotatedTwice(1);
    const tokens = t.tokensOf(arn);
    const unlabelled = [...h.sm.secrets.get(arn)!.versions].filter(([, v]) => v.stages.size === 0).map(([id]) => id);
    listDown();
    const kms = awsError('DecryptionFailure', 'Secrets Manager can\'t decrypt the protected secret text using the provided KMS key.', 'client');
    // Read for the versions' tokens (after ListSecretVersionIds); a version a pending revocation names is read before.
    h.sm.failNext('GetSecretValue', kms, (input) => unlabelled.includes(input.VersionId) && h.sm.count('ListSecretVersionIds') === 1);

    const { answer, alerts } = await t.send('Delete', [arn]);

    expect({ status: answer.Status, deleted: !h.sm.secrets.has(arn), live: tokens.filter((c) => h.astra.isLive(c)) }).toEqual({ status: 'SUCCESS', deleted: true, live: [] });
    expect(alerts).toEqual([expect.objectContaining({ secretArn: arn, message: expect.stringContaining('its earlier versions could not be read') })]);
  });
});

describe('GIVEN the twenty-eighth review\'s cases', () => {
  test('WHEN two dead values were put over an IMMEDIATELY secret THEN its one live token, in the version still labelled AWSPENDING, is revoked', async () => {
    const [arn] = t.selfSecrets(1, { [POLICY_TAG]: 'IMMEDIATELY' });
    await h.rotate(arn);
    await h.rotate(arn);
    const own = t.liveMarked(arn);
    expect(own).toHaveLength(1);
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    for (let i = 0; i < 2; i++) t.put(arn, { ...t.withToken(real, t.deadToken()), pendingRevocations: [] });

    const { alerts } = await t.send('Delete', [arn]);

    expect({ deleted: !h.sm.secrets.has(arn), live: own.filter((c) => h.astra.isLive(c)), alerts }).toEqual({ deleted: true, live: [], alerts: [] });
  });

  test('WHEN the versions\' read fails and no time is left for a second round THEN the tokens its stages lead to are revoked or named', async () => {
    const [arn] = await t.rotatedTwice(1);
    const own = t.liveMarked(arn);
    const real = h.sm.valueAt(arn, 'AWSCURRENT');
    t.put(arn, { ...t.withToken(real, t.deadToken()), pendingRevocations: [] });
    h.sm.failNext('ListSecretVersionIds');

    // 0.8 s past the margin the function keeps to answer: no second round.
    const { answer, alerts } = await t.send('Delete', [arn], { remainingMs: 20_800 });
    h.sm.secrets.delete(arn);

    expect(answer.Status).toBe('SUCCESS');
    expect(t.unreported([arn], own, alerts)).toEqual([]);
  });
});

describe('GIVEN a secret another delivery of the same Delete deletes while this one plans (its escrow entry written after this one read the escrow)', () => {
  const notFound = () => awsError('ResourceNotFoundException', 'Secrets Manager can\'t find the specified secret.', 'client');

  test.each([
    ['its unlabelled versions are listed', 'ListSecretVersionIds' as const, () => true],
    ['its AWSCURRENT is read', 'GetSecretValue' as const, (input: { VersionStage?: string }) => input.VersionStage === 'AWSCURRENT'],
  ])('WHEN it is gone by the time %s THEN it is planned again, found gone, and no alert says its tokens or versions are unknown', async (_when, operation, matches) => {
    const [arn] = t.selfSecrets(1);
    // The bootstrap token is not marked: its unlabelled versions are read.
    h.sm.failNext(operation, notFound(), (input) => {
      if (input.SecretId !== arn || !matches(input)) return false;
      h.sm.secrets.delete(arn);
      return true;
    });

    const { answer, alerts } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    expect(alerts).toEqual([]);
  });
});

describe('GIVEN self-rotating secrets whose AWSCURRENT a rotation stored', () => {
  test('WHEN the stack is deleted THEN their unlabelled versions are not read', async () => {
    const arns = await t.rotatedTwice(3);
    const tokens = arns.flatMap(t.tokensOf);

    const sent = await t.send('Delete', arns);

    t.expectFinished(sent, tokens, 3);
    expect(h.sm.calls.filter((c) => c.operation === 'ListSecretVersionIds')).toEqual([]);
  });
});
