import { FOREIGN_ORG, useTeardownHarness } from './teardown-harness';
import { ADMIN_ROLE } from '../support/fake-astra';

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
  test('WHEN the stack is deleted THEN the bootstrap token, which a version of the secret holds and which authenticates, is revoked', async () => {
    const [arn] = t.selfSecrets(1);
    const bootstrap = h.sm.valueAt(arn, 'AWSCURRENT');
    const foreign = writersOwnOrgToken();
    t.put(arn, { ...t.withToken(bootstrap, foreign), orgId: FOREIGN_ORG });
    t.put(arn, { ...t.withToken(bootstrap, foreign), orgId: FOREIGN_ORG });

    const { answer, alerts } = await t.send('Delete', [arn]);

    expect(answer.Status).toBe('SUCCESS');
    expect(h.astra.isLive(bootstrap.clientID)).toBe(false);
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
