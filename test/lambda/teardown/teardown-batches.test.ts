import { DeleteSecretCommand, DescribeSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { arnOf, BEFORE, FOREIGN_ORG, UNCONFIRMED, useTeardownHarness } from './teardown-harness';
import { handler } from '../../../lambda';
import * as timeBudget from '../../../lambda/clients/time-budget';
import { ADMIN_ROLE } from '../support/fake-astra';
import { awsError, VERSIONS_KEPT } from '../support/fake-secrets-manager';
import { POLICY_TAG } from '../support/harness';

describe('deletions in batches: one escrow write before several secrets are deleted, for the escrow\'s version quota', () => {
  const t = useTeardownHarness();
  const {
    h, withLambdaRetries, unreported, cfn, context, deleteRequest, send, rotatedAdminSecret, selfSecrets, chainOf, tokensOf, tokensOfAll, operationOf,
    escrowValue, escrowed, escrowWrites, expectFinished,
  } = t;


  test(`more secrets than the escrow has versions (${VERSIONS_KEPT} a day): every one deleted before its tokens are revoked, in a few writes`, async () => {
    const arns = selfSecrets(VERSIONS_KEPT + 20);
    const tokens = tokensOfAll(arns);
    // Astra's pace (5 calls a second) takes most of a 2-minute budget here; a loaded machine must not make it a test of speed.
    const { answer, alerts } = await send('Delete', arns, { remainingMs: 600_000 });
    expect(answer).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/^stack-deletion: 120 of 120 secrets deleted, 120 with every token revoked/) });
    expect(alerts).toEqual([]);
    // One write a secret would have run out of versions: the rest revoked first, with a WARN each and an ERROR line.
    expect(h.lines().filter((l) => l.level === 'WARN' || l.level === 'ERROR')).toEqual([]);
    expect(escrowWrites()).toBeLessThan(VERSIONS_KEPT / 4);
    for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
    for (const arn of arns) expect(h.sm.secrets.has(arn)).toBe(false);
    expect(escrowed()).toEqual([]);
  });

  test('a batch\'s secrets are all deleted before the first of them has a token revoked, and each batch is written to the escrow first', async () => {
    const arns = selfSecrets(5);
    const order: string[] = [];
    const astraRequests = h.astra.requests.length;
    const revocations = () => h.astra.requests.slice(astraRequests).filter((r) => r.method === 'DELETE').length;
    const escrowHolds = (arn: string) => h.sm.valueAt(t.stack.escrowArn, 'AWSCURRENT').entries?.some((e: { arn: string }) => e.arn === arn);
    h.sm.mock.on(DeleteSecretCommand).callsFake((input) => {
      order.push(`${input.SecretId === arns.find((a) => a === input.SecretId) ? 'deleted' : '?'} after ${revocations()} revocations, ${escrowHolds(input.SecretId) ? 'escrowed' : 'not escrowed'}`);
      h.sm.secrets.delete(input.SecretId);
      return {};
    });
    await send('Delete', arns);
    expect(order).toEqual(Array(5).fill('deleted after 0 revocations, escrowed'));
    expect(escrowWrites()).toBe(2);
  });

  test('killed inside a batch, after its escrow write and its first deletion: the retry finishes every secret, the deleted one from its entry', async () => {
    const arns = selfSecrets(3);
    const tokens = tokensOfAll(arns);
    t.stack.startedAt = new Date();
    const requestEvent = deleteRequest(arns, 'r-killed');
    // Lambda stops the invocation at its second DeleteSecret: the call never returns, and nothing after it runs.
    let deletions = 0;
    h.sm.mock.on(DeleteSecretCommand).callsFake((input) => {
      if (++deletions === 2) return new Promise(() => undefined);
      h.sm.secrets.delete(input.SecretId);
      return {};
    });
    void handler(requestEvent, context());
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(arns.map((arn) => h.sm.secrets.has(arn))).toEqual([false, true, true]);
    expect(escrowed()).toEqual(arns);
    for (const c of tokens) expect(h.astra.isLive(c)).toBe(true);
    h.sm.mock.on(DeleteSecretCommand).callsFake((input) => {
      h.sm.secrets.delete(input.SecretId);
      return {};
    });
    await handler(requestEvent, context());
    expect(cfn).toEqual([expect.objectContaining({ Status: 'SUCCESS', Reason: expect.stringMatching(/3 of 3 secrets deleted, 3 with every token revoked/) })]);
    expect(h.lines().filter((l) => l.level === 'WARN' || l.level === 'ERROR')).toEqual([]);
    for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
    expect(escrowed()).toEqual([]);
  });

  test('an admin is deleted alone, after the secrets it mints for are revoked; they go in one batch', async () => {
    const { root, mid, leaf } = await chainOf();
    const order: string[] = [];
    const names = new Map([[root, 'root'], [mid, 'mid'], [leaf, 'leaf']]);
    const writesBefore = escrowWrites();
    h.sm.mock.on(DeleteSecretCommand).callsFake((input) => {
      order.push(`${names.get(input.SecretId)} after ${escrowWrites() - writesBefore} writes`);
      h.sm.secrets.delete(input.SecretId);
      return {};
    });
    const { answer } = await send('Delete', [root, mid, leaf]);
    expect(answer).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/3 of 3 secrets deleted, 3 with every token revoked/) });
    expect(order).toEqual(['leaf after 1 writes', 'mid after 2 writes', 'root after 3 writes']);
  });

  const toEscrow = (x: { SecretId?: string }) => x.SecretId === t.stack.escrowArn;
  test.each([
    ['a server error', () => h.sm.failNext('PutSecretValue', awsError('InternalServiceError', 'injected'), toEscrow)],
    ['a write that commits and reports an error', () => h.sm.failNextAfterCommit('UpdateSecretVersionStage', awsError('InternalServiceError', 'reset after commit'))],
    // The read of the write, not the first read of the invocation.
    ['a timeout reading it', () => h.sm.failNext('GetSecretValue', Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }),
      (x) => toEscrow(x) && h.sm.calls.filter((c) => c.operation === 'GetSecretValue' && toEscrow(c.input)).length > 1)],
  ])('an escrow write that fails in a way that may pass (%s), while the operation is young: the secret waits for the second round, none goes the old way', async (_what, fail) => {
    const arns = [t.stack.adopt(await rotatedAdminSecret('one'), 'One'), t.stack.adopt(await rotatedAdminSecret('two'), 'Two')];
    const tokens = arns.flatMap(tokensOf);
    t.stack.startedAt = new Date();
    fail();
    expectFinished(await send('Delete', arns), tokens, 2);
    expect(h.lines().filter((l) => l.level === 'WARN' || l.level === 'ERROR')).toEqual([]);
  });

  test('one escrow write failing in a way that may pass holds back the first secret of its batch alone: the others are deleted in their turns', async () => {
    const arns = selfSecrets(5);
    const tokens = tokensOfAll(arns);
    t.stack.startedAt = new Date();
    h.sm.failNext('PutSecretValue', awsError('InternalServiceError', 'injected'), toEscrow);
    const order: string[] = [];
    h.sm.mock.on(DeleteSecretCommand).callsFake((input) => {
      order.push(`${arns.indexOf(input.SecretId)}`);
      h.sm.secrets.delete(input.SecretId);
      return {};
    });
    expectFinished(await send('Delete', arns), tokens, 5);
    // The first in its turn after the others (the second round), as one batch the others in theirs.
    expect(order).toEqual(['1', '2', '3', '4', '0']);
  });

  test('an escrow write that fails in both rounds: the old way then, with one ERROR line', async () => {
    const arns = [t.stack.adopt(await rotatedAdminSecret('one'), 'One'), t.stack.adopt(await rotatedAdminSecret('two'), 'Two')];
    const tokens = arns.flatMap(tokensOf);
    t.stack.startedAt = new Date();
    // Each secret's own write in the first round, and again in the second (one failure holds back one secret).
    for (let i = 0; i < 4; i++) h.sm.failNext('PutSecretValue', awsError('InternalServiceError', 'injected'), toEscrow);
    const { answer, alerts } = await send('Delete', arns);
    expect(answer).toMatchObject({ Status: 'SUCCESS' });
    expect(alerts).toEqual([]);
    expect(h.lines().filter((l) => l.level === 'ERROR' && /escrow .* could not be written/.test(String(l.outcome)))).toHaveLength(1);
    expect(h.lines().filter((l) => l.level === 'WARN' && /before CloudFormation deletes it: the escrow could not be written/.test(String(l.outcome)))).toHaveLength(2);
    for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
    for (const arn of arns) expect(h.sm.secrets.has(arn)).toBe(true);
  });

  const deleteNormally = () => h.sm.mock.on(DeleteSecretCommand).callsFake((input) => {
    h.sm.calls.push({ operation: 'DeleteSecret', input });
    h.sm.secrets.delete(input.SecretId);
    return {};
  });
  /** Lambda stops the invocation at its n-th DeleteSecret (its timeout, a crash): the call never returns, nothing after it runs. */
  const killAtDeletion = async (n: number, event: Record<string, unknown>) => {
    let deletions = 0;
    h.sm.mock.on(DeleteSecretCommand).callsFake((input) => {
      h.sm.calls.push({ operation: 'DeleteSecret', input });
      if (++deletions === n) return new Promise(() => undefined);
      h.sm.secrets.delete(input.SecretId);
      return {};
    });
    void handler(event, context());
    await new Promise((resolve) => setTimeout(resolve, 300));
    deleteNormally();
  };
  const deletionsSent = () => h.sm.calls.filter((c) => c.operation === 'DeleteSecret').map((c) => c.input.SecretId);

  describe('an entry written with a batch counts only where its secret is not found, until its DeleteSecret is done (eighth to eleventh adversarial reviews)', () => {
    test('killed inside a batch, then a member never sent its DeleteSecret is scheduled for deletion by someone (restorable): it is deleted, then revoked', async () => {
      const arns = selfSecrets(3);
      const tokens = tokensOfAll(arns);
      t.stack.startedAt = new Date();
      const requestEvent = deleteRequest(arns, 'r-killed');
      await killAtDeletion(2, requestEvent);
      expect(escrowed()).toEqual(arns);
      expect(deletionsSent()).toEqual(arns.slice(0, 2));
      h.sm.secrets.get(arns[2])!.deletedDate = new Date();
      await handler(requestEvent, context());
      // Not revoked on the entry's word while it still existed: deleted first, as any secret CloudFormation deletes.
      expect(deletionsSent().filter((arn) => arn === arns[2])).toHaveLength(1);
      expect(h.sm.secrets.has(arns[2])).toBe(false);
      for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
      expect(escrowed()).toEqual([]);
    });

    test.each([
      ['the retry', 'r-killed'],
      ['a forged Delete of the same operation', 'r-forged'],
    ])('killed (or slow) inside a batch, then a member never sent its DeleteSecret answers AccessDenied (a Deny) to %s: it keeps its live token, with an alert', async (_who, requestId) => {
      const arns = selfSecrets(4);
      const tokens = tokensOfAll(arns);
      t.stack.startedAt = new Date();
      await killAtDeletion(2, deleteRequest(arns, 'r-killed'));
      h.sm.mock.on(DescribeSecretCommand, { SecretId: arns[3] }).rejects(awsError('AccessDeniedException', 'with an explicit deny in a resource-based policy', 'client'));
      await handler(deleteRequest(arns, requestId), context());
      expect(h.sm.secrets.has(arns[3])).toBe(true);
      expect(h.astra.isLive(tokens[3])).toBe(true);
      expect(h.lines().filter((l) => l.alert === 'TokensLeftLiveOnDeletion').map((l) => l.secretArn)).toEqual([arns[3]]);
      // The deleted one, and the other still there, are finished.
      for (const c of [tokens[0], tokens[2]]) expect(h.astra.isLive(c)).toBe(false);
      expect(escrowed()).toEqual([arns[3]]);
    });

    const toCleanup = (ids: string[]) => {
      for (const id of ids) t.stack.removeFromTemplate(id);
      t.stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
      t.stack.startedAt = new Date();
      t.stack.teardown('teardown-2');
    };
    /** In a cleanup a deleted secret has no tags, and its ARN left the role's policy: DescribeSecret answers AccessDenied. */
    const deniedOnceGone = (arns: string[]) => {
      for (const arn of arns) {
        for (let i = 0; i < 3; i++) {
          h.sm.failNext('DescribeSecret', awsError('AccessDeniedException', 'not authorized', 'client', 400), (x) => x.SecretId === arn && !h.sm.secrets.has(arn));
        }
      }
    };
    const unanswered = (arn: string) => {
      h.sm.failNext('DeleteSecret', awsError('InternalServiceError', 'injected, not committed'), (x) => x.SecretId === arn);
      h.sm.failNext('DescribeSecret', awsError('InternalServiceError', 'injected'), (x) => x.SecretId === arn && h.sm.count('DeleteSecret') > 0);
    };
    const waitFor = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    test('in a cleanup, killed between the batch\'s deletions and the write that says they were sent: the retry revokes nothing it cannot tell is gone, and the alert names the tokens', async () => {
      const arns = selfSecrets(2);
      const tokens = tokensOfAll(arns);
      toCleanup(['Self0', 'Self1']);
      const cleanup = deleteRequest(arns, 'r-cleanup');
      h.sm.hangNext('GetSecretValue', (x) => toEscrow(x) && h.sm.count('DeleteSecret') >= 2);
      void handler(cleanup, context());
      await waitFor(300);
      expect(arns.map((arn) => h.sm.secrets.has(arn))).toEqual([false, false]);
      deniedOnceGone(arns);
      await handler(cleanup, context());
      const alerts = h.lines().filter((l) => l.alert === 'TokensLeftLiveOnDeletion');
      for (const [i, arn] of arns.entries()) {
        expect(alerts.find((l) => l.secretArn === arn)).toMatchObject({ notProvenClientIds: expect.arrayContaining([tokens[i]]), message: expect.stringMatching(/may have deleted it/) });
      }
    });

    test('a DeleteSecret sent, not done, and not checkable: its entry stays marked, so a retry that finds the secret scheduled for deletion deletes it first', async () => {
      const arns = selfSecrets(2);
      const tokens = tokensOfAll(arns);
      t.stack.startedAt = new Date();
      const requestEvent = deleteRequest(arns, 'r-unanswered');
      unanswered(arns[0]);
      h.sm.hangNext('DeleteSecret', (x) => x.SecretId === arns[0] && h.sm.calls.filter((c) => c.operation === 'DeleteSecret' && c.input.SecretId === arns[0]).length >= 2);
      void handler(requestEvent, context());
      await waitFor(2_000);
      expect(h.sm.secrets.has(arns[0])).toBe(true);
      expect(h.sm.valueAt(t.stack.escrowArn, 'AWSCURRENT').entries.find((e: { arn: string }) => e.arn === arns[0]).writtenAhead).toBe(true);
      h.sm.secrets.get(arns[0])!.deletedDate = new Date();
      await handler(requestEvent, context());
      expect(h.sm.secrets.has(arns[0])).toBe(false);
      for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
    });

    test('in a cleanup, a DeleteSecret sent, not done, and not checkable, then a Deny on the secret still there: its token stays live', async () => {
      const arns = selfSecrets(2);
      const tokens = tokensOfAll(arns);
      toCleanup(['Self0', 'Self1']);
      const cleanup = deleteRequest(arns, 'r-cleanup');
      unanswered(arns[0]);
      h.sm.hangNext('GetSecretValue', (x) => toEscrow(x) && h.sm.count('PutSecretValue') >= 2);
      void handler(cleanup, context());
      await waitFor(2_000);
      expect(h.sm.secrets.has(arns[0])).toBe(true);
      h.sm.mock.on(DescribeSecretCommand, { SecretId: arns[0] }).rejects(awsError('AccessDeniedException', 'with an explicit deny in a resource-based policy', 'client', 400));
      await handler(cleanup, context());
      expect(h.sm.secrets.has(arns[0])).toBe(true);
      expect(h.astra.isLive(tokens[0])).toBe(true);
    });

    test('an escrow write failing in a way that may pass, long after the operation began (no retry to come, and maybe no second round): the old way at once', async () => {
      const arns = selfSecrets(2);
      const tokens = tokensOfAll(arns);
      t.stack.startedAt = new Date(Date.now() - 20 * 60_000);
      let failed = false;
      h.sm.failNext('PutSecretValue', awsError('InternalServiceError', 'injected'), (x) => (failed = toEscrow(x)));
      // Once the write failed, about 1 s is left: more than a call's timeout (0.3 s), less than a second round needs.
      const realNow = Date.now;
      const clock = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + (failed ? 99_000 : 0));
      try {
        await handler(deleteRequest(arns, 'r-late'), context());
      } finally {
        clock.mockRestore();
      }
      expect(cfn).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
      for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
    });

    test('a DeleteSecret that fails without effect on a secret someone scheduled for deletion meanwhile: a DeletedDate is not taken as gone; the second round deletes it, then revokes', async () => {
      const arns = selfSecrets(1);
      const tokens = tokensOfAll(arns);
      t.stack.startedAt = new Date();
      let revokedWhileThere = false;
      h.sm.mock.on(DeleteSecretCommand).callsFakeOnce(() => {
        h.sm.secrets.get(arns[0])!.deletedDate = new Date();
        throw awsError('InternalServiceError', 'injected, not committed');
      }).callsFake((input) => {
        revokedWhileThere ||= !h.astra.isLive(tokens[0]);
        h.sm.secrets.delete(input.SecretId);
        return {};
      });
      expectFinished(await send('Delete', arns), tokens);
      expect(revokedWhileThere).toBe(false);
      expect(h.sm.secrets.has(arns[0])).toBe(false);
    });

    test('an escrow write failing in a way that may pass, long after the operation began, then the turns after it use the time up: no batch is left undeleted with live tokens', async () => {
      const arns = selfSecrets(17);
      const tokens = tokensOfAll(arns);
      let failed = false;
      h.sm.failNext('PutSecretValue', awsError('InternalServiceError', 'injected'), (x) => (failed = toEscrow(x)));
      const realNow = Date.now;
      const clock = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + (failed && h.sm.count('DeleteSecret') >= 1 ? 99_000 : 0));
      try {
        await handler(deleteRequest(arns, 'r-late'), context());
      } finally {
        clock.mockRestore();
      }
      expect(cfn).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
      expect(arns.filter((arn, i) => h.sm.secrets.has(arn) && h.astra.isLive(tokens[i]))).toEqual([]);
    });

    describe('a DeleteSecret that fails, and escrow writes that keep failing (eleventh adversarial review)', () => {
      const realNow = Date.now;
      let offset = 0;
      beforeEach(() => {
        offset = 0;
        jest.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
      });
      afterEach(() => jest.restoreAllMocks());
      /** About a second left of the invocation's 100: a turn still runs, a second round does not. */
      const almostOutOfTime = () => {
        offset = 99_000;
      };

      test('a DeleteSecret that commits and loses its answer while the deletion is under way (a DeletedDate), with no second round to come: sent again at once, then revoked', async () => {
        const arns = selfSecrets(1);
        const tokens = tokensOfAll(arns);
        h.sm.asyncForceDeletion = true;
        h.sm.failNextAfterCommit('DeleteSecret');
        h.sm.failNext('DescribeSecret', awsError('InternalServiceError', 'not yet'), (x) => {
          if (x.SecretId === arns[0] && h.sm.count('DeleteSecret') > 0) almostOutOfTime();
          return false;
        });
        const { answer } = await send('Delete', arns);
        expect(answer).toMatchObject({ Status: 'SUCCESS' });
        expect(h.sm.secrets.has(arns[0])).toBe(false);
        for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
      });

      test('a secret someone scheduled for deletion, whose force deletion fails without effect: Lambda\'s retry cannot read its values, and deletes it from its entry, then revokes', async () => {
        const arns = selfSecrets(1);
        const tokens = tokensOfAll(arns);
        t.stack.startedAt = new Date(realNow());
        // Scheduled meanwhile; the DeleteSecret, and the one sent again at once, fail: unanswered, the invocation leaves it to a retry.
        let failures = 2;
        h.sm.mock.on(DeleteSecretCommand).callsFake((input) => {
          if (failures-- > 0) {
            h.sm.secrets.get(arns[0])!.deletedDate = new Date();
            almostOutOfTime();
            throw awsError('InternalServiceError', 'not committed');
          }
          h.sm.secrets.delete(input.SecretId);
          return {};
        });
        const event = deleteRequest(arns, 'r-scheduled');
        await expect(handler(event, context())).rejects.toThrow(/Lambda's retry of the request continues/);
        expect(h.sm.secrets.get(arns[0])?.deletedDate).toBeDefined();
        for (const c of tokens) expect(h.astra.isLive(c)).toBe(true);
        offset += 60_000;
        await handler(event, context());
        expect(h.sm.secrets.has(arns[0])).toBe(false);
        for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
      });

      test('a DeleteSecret that commits and loses its answer, then sent again and refused while the deletion is under way: not taken as a secret that stays; its tokens are revoked or named', async () => {
        const arns = selfSecrets(1);
        const tokens = tokensOfAll(arns);
        let sent = 0;
        h.sm.mock.on(DeleteSecretCommand).callsFake(() => {
          if (++sent === 1) {
            h.sm.secrets.get(arns[0])!.deletedDate = new Date();
            throw awsError('InternalServiceError', 'committed, answer lost');
          }
          // The deletion under way finishes, whatever this answer says.
          h.sm.secrets.delete(arns[0]);
          throw awsError('InvalidRequestException', 'You can\'t perform this operation on the secret because it was marked for deletion.', 'client', 400);
        });
        const { answer } = await send('Delete', arns);
        expect(answer).toMatchObject({ Status: 'SUCCESS' });
        expect(h.sm.secrets.has(arns[0])).toBe(false);
        for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
      });

      test('an entry without the mark (forged: anyone allowed PutSecretValue on the escrow can write one) for a secret someone scheduled for deletion, which CloudFormation keeps: nothing revoked', async () => {
        const arn = t.stack.adopt(await rotatedAdminSecret('kept'), 'Kept', { DeletionPolicy: 'Retain' });
        const tokens = tokensOf(arn);
        h.sm.secrets.get(arn)!.deletedDate = new Date();
        const adminSecretArn = h.sm.secrets.get(arn)!.tags.find((tag) => tag.Key === 'astra-token-secret:admin-secret-arn')!.Value;
        const forged = { operation: operationOf(), arn, adminSecretArn, current: { clientID: tokens[0], engine: 'AstraDB' }, versions: {}, held: [] };
        h.sm.addVersion(t.stack.escrowArn, escrowValue([forged]), ['AWSCURRENT']);
        await send('Delete', [arn]);
        expect(h.sm.secrets.has(arn)).toBe(true);
        for (const c of tokens) expect(h.astra.isLive(c)).toBe(true);
      });

      describe('an earlier operation\'s entry for a secret someone scheduled for deletion (sixteenth adversarial review)', () => {
        test('forged, recording another org and a token of none: the secret\'s live token marked as its own, in its org\'s list, is named in the alert', async () => {
          const [arn, other] = selfSecrets(2);
          await h.rotate(arn);
          const marked = h.sm.valueAt(arn, 'AWSCURRENT').clientID as string;
          h.sm.secrets.get(arn)!.deletedDate = new Date();
          const forged = {
            operation: operationOf('DELETE_IN_PROGRESS', BEFORE),
            arn,
            current: { clientID: 'forged-client', astraKey: 'AstraCS:forged-client:0000', orgId: FOREIGN_ORG, engine: 'AstraDB' },
            versions: {},
            held: [],
          };
          h.sm.addVersion(t.stack.escrowArn, escrowValue([forged]), ['AWSCURRENT']);
          const { alerts } = await send('Delete', [arn, other]);
          // Not revocable without the secret's own token; the list read with the other secret's token shows it marked as this one's.
          expect(h.astra.isLive(marked)).toBe(true);
          expect(alerts).toEqual([expect.objectContaining({
            level: 'ERROR', alert: 'TokensLeftLiveOnDeletion', secretArn: arn, clientIds: [marked], notProvenClientIds: ['forged-client'],
          })]);
        });

        test('forged, recording the stack\'s org with another org\'s token: that org\'s list is not taken for the stack\'s, and the other secret is revoked', async () => {
          const [arn, other] = selfSecrets(2);
          await h.rotate(other);
          const otherTokens = [h.sm.valueAt(other, 'AWSCURRENT').clientID as string, h.sm.valueAt(other, 'AWSPREVIOUS').clientID as string];
          h.sm.secrets.get(arn)!.deletedDate = new Date();
          // A token of another org: its list (the first read) shows none of the stack's tokens, and Astra names its org.
          const foreign = h.astra.issue([ADMIN_ROLE], 'another org\'s token');
          h.astra.fail({ method: 'GET', path: /^\/v2\/clientIdSecrets$/, status: 200, body: '{"clients":[]}' });
          h.astra.fail({ method: 'GET', path: /^\/v2\/currentOrg$/, status: 200, body: JSON.stringify({ id: FOREIGN_ORG, name: 'another' }) });
          const forged = {
            operation: operationOf('DELETE_IN_PROGRESS', BEFORE),
            arn,
            current: { clientID: foreign.clientId, astraKey: foreign.token, orgId: h.sm.valueAt(other, 'AWSCURRENT').orgId, engine: 'AstraDB' },
            versions: {},
            held: [],
          };
          h.sm.addVersion(t.stack.escrowArn, escrowValue([forged]), ['AWSCURRENT']);
          await send('Delete', [other, arn]);
          expect(h.astra.requests.filter((r) => r.path === '/v2/clientIdSecrets' && r.method === 'GET').length).toBeGreaterThan(1);
          for (const c of otherTokens) expect(h.astra.isLive(c)).toBe(false);
          expect(h.lines().filter((l) => l.alert && l.secretArn === other)).toEqual([]);
        });

        test('a value writer\'s token of another org in AWSCURRENT of a secret alone in the deletion: AWSPREVIOUS\'s token, of the org its value records, revokes the secret\'s tokens', async () => {
          const [arn] = selfSecrets(1);
          const bootstrap = h.sm.valueAt(arn, 'AWSCURRENT').clientID;
          await h.rotate(arn);
          const real = h.sm.valueAt(arn, 'AWSCURRENT');
          const rotatedVersion = h.sm.versionWith(arn, 'AWSCURRENT')!;
          const foreign = h.astra.issue([ADMIN_ROLE], 'another org\'s token');
          // PutSecretValue moves AWSPREVIOUS to the version it replaces, as Secrets Manager does.
          h.sm.addVersion(arn, JSON.stringify({ ...real, astraKey: foreign.token, clientID: foreign.clientId, orgId: FOREIGN_ORG }), ['AWSCURRENT']);
          h.sm.removeStage(arn, 'AWSPREVIOUS');
          h.sm.secrets.get(arn)!.versions.get(rotatedVersion)!.stages.add('AWSPREVIOUS');
          // The foreign token's list shows only itself, and Astra names its org.
          const foreignOnly = { clients: [{ clientId: foreign.clientId, roles: [ADMIN_ROLE], description: 'another org\'s token', generatedOn: new Date().toISOString() }] };
          h.astra.fail({ method: 'GET', path: /^\/v2\/clientIdSecrets$/, status: 200, body: JSON.stringify(foreignOnly), times: 1 });
          h.astra.fail({ method: 'GET', path: /^\/v2\/currentOrg$/, status: 200, body: JSON.stringify({ id: FOREIGN_ORG, name: 'another' }), times: 1 });
          const { answer, alerts } = await send('Delete', [arn]);
          expect(h.astra.isLive(real.clientID)).toBe(false);
          // The put moved the bootstrap token (live until the next rotation) out of the stages; unmarked, it is a claim.
          expect(alerts).toEqual([expect.objectContaining({ secretArn: arn, notProvenClientIds: [bootstrap] })]);
          expect(answer).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/1 of 1 secrets deleted, 0 with every token revoked/) });
        });

        test('killed after this operation wrote the entry, before its DeleteSecret, then AccessDenied: the entry says the deletion was not sent, so nothing is revoked', async () => {
          const [arn] = selfSecrets(1);
          const tokens = tokensOfAll([arn]);
          t.stack.startedAt = new Date(realNow());
          const earlier = { operation: operationOf('DELETE_IN_PROGRESS', BEFORE), arn, current: h.sm.valueAt(arn, 'AWSCURRENT'), versions: {}, held: [] };
          h.sm.addVersion(t.stack.escrowArn, escrowValue([earlier]), ['AWSCURRENT']);
          h.sm.secrets.get(arn)!.deletedDate = new Date();
          const event = deleteRequest([arn], 'r-scheduled-kill');
          h.sm.hangNext('DeleteSecret', (x) => x.SecretId === arn);
          void handler(event, context());
          await new Promise((resolve) => setTimeout(resolve, 300));
          expect(h.sm.valueAt(t.stack.escrowArn, 'AWSCURRENT').entries).toEqual([expect.objectContaining({ arn, operation: operationOf(), writtenAhead: true })]);
          // Someone denies the role the secret (a Deny added meanwhile): AccessDenied says nothing of whether it is gone.
          for (let i = 0; i < 3; i++) h.sm.failNext('DescribeSecret', awsError('AccessDeniedException', 'not authorized', 'client', 400), (x) => x.SecretId === arn);
          await handler(event, context());
          expect(h.sm.secrets.has(arn)).toBe(true);
          expect(h.astra.isLive(tokens[0])).toBe(true);
          expect(h.lines().find((l) => l.alert === 'TokensLeftLiveOnDeletion' && l.secretArn === arn)).toMatchObject({ level: 'ERROR', notProvenClientIds: tokens });
        });
      });

      describe('lists labelled by Astra\'s own org, and the escrow\'s resource policy (seventeenth adversarial review)', () => {
        /** What a kill leaves after a secret was deleted and its tokens revoked, before the write that drops its entry. */
        const revokedButStillEscrowed = (arn: string, operation: string) => {
          const entry = { operation, arn, current: h.sm.valueAt(arn, 'AWSCURRENT'), previous: h.sm.valueAt(arn, 'AWSPREVIOUS'), versions: {}, held: [] };
          h.sm.addVersion(t.stack.escrowArn, escrowValue([entry]), ['AWSCURRENT']);
          for (const c of tokensOf(arn)) h.astra.tokens.delete(c);
          h.sm.secrets.delete(arn);
        };
        const twiceRotated = async (count: number) => {
          const arns = selfSecrets(count);
          for (const arn of arns) {
            await h.rotate(arn);
            await h.rotate(arn);
          }
          return arns;
        };

        test.each([
          ['answers', undefined],
          ['fails with 503 on every attempt', { status: 503 }],
          ['times out on every attempt', { hang: true }],
          ['answers 401 (a token still warming up)', { status: 401 }],
        ])('GET /v2/currentOrg %s for the list\'s token: a secret an earlier attempt revoked and deleted is found done, or not confirmed (kept in the escrow)', async (_, fault) => {
          const [done, other] = await twiceRotated(2);
          t.stack.startedAt = new Date(Date.now() - 60 * 60_000);
          revokedButStillEscrowed(done, operationOf());
          const otherTokens = tokensOf(other);
          if (fault) h.astra.fail({ method: 'GET', path: /^\/v2\/currentOrg$/, times: 1_000, ...fault });
          const { answer, alerts } = await send('Delete', [done, other]);
          expect(answer).toMatchObject({ Status: 'SUCCESS' });
          for (const c of otherTokens) expect(h.astra.isLive(c)).toBe(false);
          // Without Astra's word on the list's org, nothing says what is left of either: an alert each that names no token. The
          // one whose authority is dead stays in the escrow, for a later invocation's list of its org to judge.
          const byArn = (a: Record<string, any>, b: Record<string, any>) => a.secretArn.localeCompare(b.secretArn);
          const expected = fault
            ? {
              alerts: [done, other].sort()
                .map((secretArn) => expect.objectContaining({ secretArn, clientIds: [], message: expect.stringMatching(UNCONFIRMED) })),
              escrowed: [done],
            }
            : { alerts: [], escrowed: [] };
          expect({ alerts: alerts.sort(byArn), escrowed: escrowed().sort() }).toEqual(expected);
        });

        test('the same for an earlier operation\'s entry, while currentOrg fails: not confirmed, so alerted (naming no token) and kept', async () => {
          const [done, other] = await twiceRotated(2);
          revokedButStillEscrowed(done, operationOf('DELETE_IN_PROGRESS', BEFORE));
          h.astra.fail({ method: 'GET', path: /^\/v2\/currentOrg$/, times: 1_000, status: 503 });
          const { alerts } = await send('Delete', [done, other]);
          expect(alerts.filter((a) => a.secretArn === done))
            .toEqual([expect.objectContaining({ clientIds: [], message: expect.stringMatching(UNCONFIRMED) })]);
          expect(escrowed()).toContain(done);
        });

        test('a full escrow: the ERROR line\'s remedy works under the escrow\'s resource policy, which lets only the function\'s role write it', async () => {
          const [arn] = selfSecrets(1);
          await h.rotate(arn);
          const filler = (i: number) => ({
            operation: operationOf('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', BEFORE),
            arn: arnOf(`gone-${i}`),
            current: { clientID: `c${i}`, astraKey: `AstraCS:c${i}:${'0'.repeat(64)}`, engine: 'AstraDB', pad: 'x'.repeat(900) },
            versions: {},
            held: [],
          });
          const entries: Array<ReturnType<typeof filler>> = [];
          while (escrowValue([...entries, filler(entries.length)]).length < 59_500) entries.push(filler(entries.length));
          h.sm.addVersion(t.stack.escrowArn, escrowValue(entries), ['AWSCURRENT']);
          await send('Delete', [arn]);
          const error = h.lines().find((l) => l.level === 'ERROR' && /escrow .* could not be written/.test(String(l.outcome)));
          expect(error?.outcome).toMatch(/would exceed.*delete that policy \(DeleteResourcePolicy\), put \{\}, and put the policy back/);
        });
      });


      test('an escrow that times out on every write: one secret an invocation waits for a retry, the others go the old way, and none is left live unnamed', async () => {
        const arns = selfSecrets(30);
        const tokens = tokensOfAll(arns);
        t.stack.startedAt = new Date(realNow());
        h.sm.mock.on(PutSecretValueCommand, { SecretId: t.stack.escrowArn }).callsFake(() => {
          offset += 8_000;
          throw Object.assign(new Error('Connection timed out after 5000 ms'), { name: 'TimeoutError' });
        });
        const event = deleteRequest(arns, 'r-outage');
        await withLambdaRetries(event, (ms) => {
          offset += ms;
        });
        expect(cfn).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
        // What the time left unreached (its second invocation answers: the operation is no longer young) is named.
        expect(unreported(arns, tokens, h.lines().filter((l) => l.alert === 'TokensLeftLiveOnDeletion'))).toEqual([]);
      });
    });

    test('in a cleanup, the entries say their DeleteSecrets were sent before any revocation: killed while revoking, the retry revokes a deleted secret that answers AccessDenied', async () => {
      const arns = [t.stack.adopt(await rotatedAdminSecret('one'), 'One'), t.stack.adopt(await rotatedAdminSecret('two'), 'Two')];
      const tokens = arns.flatMap(tokensOf);
      for (const id of ['One', 'Two']) t.stack.removeFromTemplate(id);
      t.stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
      t.stack.startedAt = new Date();
      t.stack.teardown('teardown-2');
      const cleanup = deleteRequest(arns, 'r-cleanup');
      // Killed in the first secret's revocation (its admin's read), after the batch's deletions.
      const admin = h.sm.secrets.get(arns[0])!.tags.find((tag) => tag.Key === 'astra-token-secret:admin-secret-arn')?.Value;
      h.sm.hangNext('GetSecretValue', (x) => x.SecretId === admin);
      void handler(cleanup, context());
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(arns.map((arn) => h.sm.secrets.has(arn))).toEqual([false, false]);
      expect(h.sm.valueAt(t.stack.escrowArn, 'AWSCURRENT').entries.map((e: { writtenAhead?: boolean }) => !!e.writtenAhead)).toEqual([false, false]);
      for (const c of tokens) expect(h.astra.isLive(c)).toBe(true);
      // A deleted secret has no tags: the role's tag condition answers AccessDenied, as does its ARN, gone from the policy.
      for (const arn of arns) h.sm.mock.on(DescribeSecretCommand, { SecretId: arn }).rejects(awsError('AccessDeniedException', 'not authorized', 'client'));
      await handler(cleanup, context());
      for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
      expect(escrowed()).toEqual([]);
    });
  });

  test('at a realistic latency (Astra 0.7 s a call, Secrets Manager 60 ms), 245 secrets take few escrow writes: a batch is judged by the turns so far', async () => {
    process.env.ASTRA_HTTP_TIMEOUT_MS = '10000';
    // This clock counts every call in full, overlapping or not: one turn at a time (the paced scale tests run four).
    process.env.TEARDOWN_TURNS_AT_ONCE = '1';
    const arns = selfSecrets(245);
    const tokens = tokensOfAll(arns);
    t.stack.startedAt = new Date();
    const realNow = Date.now;
    const t0 = realNow();
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => t0 + (realNow() - t0) + h.astra.requests.length * 700 + h.sm.calls.length * 60);
    /** Secrets deleted after each escrow write. */
    const batches: number[] = [];
    let writesSeen = 0;
    h.sm.mock.on(DeleteSecretCommand).callsFake((input) => {
      h.sm.calls.push({ operation: 'DeleteSecret', input });
      if (escrowWrites() !== writesSeen) batches.push(0);
      writesSeen = escrowWrites();
      batches[batches.length - 1]++;
      h.sm.secrets.delete(input.SecretId);
      return {};
    });
    try {
      for (let i = 0; i < 4 && cfn.length === 0; i++) {
        await handler(deleteRequest(arns, 'r-big'), { ...context(), getRemainingTimeInMillis: () => 200_000 }).catch(() => undefined);
      }
    } finally {
      clock.mockRestore();
    }
    expect(cfn).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
    expect(h.lines().filter((l) => l.level === 'WARN' || l.level === 'ERROR')).toEqual([]);
    for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
    // Sized by a call's timeout alone, the batches of each invocation's last half-minute held one secret each (68 writes).
    expect(batches.filter((size) => size === 1).length).toBeLessThan(5);
    expect(escrowWrites()).toBeLessThanOrEqual(32);
  });

  test.each([
    ['under the default policy (two revocations each, one after the other: one secret at a time does not fit)', {}, false],
    ['under IMMEDIATELY, while GET /v2/currentOrg does not answer (a revocation and a 401 each)', { [POLICY_TAG]: 'IMMEDIATELY' }, true],
  ])('245 secrets rotated twice %s, at Astra\'s 0.7 s a call and 5 calls a second: every token revoked within Lambda\'s retries', async (_, tags, outage) => {
    // Time runs five times faster than the test: Astra answers after 140 ms (0.7 s), Secrets Manager after 12 ms (60 ms),
    // the function's sleeps last a fifth of what it asks, and Astra's rate limit counts the same clock. Calls that overlap
    // overlap in this clock too. (At ten times, the test's own work, slowed by other suites beside it in CI, counted ten
    // times over and ran the function out of its retries.)
    const SCALE = 5;
    process.env.ASTRA_HTTP_TIMEOUT_MS = '10000';
    const arns = selfSecrets(245, tags);
    for (const arn of arns) for (let n = 0; n < 2; n++) await h.rotate(arn);
    // Every live token but the admin's: the stages' and what they still owe.
    const tokens = h.astra.everIssued.map((token) => token.clientId).filter((c) => h.astra.isLive(c) && c !== h.admin.clientId);
    expect(tokens.length).toBeGreaterThanOrEqual(outage ? 245 : 2 * 245);
    for (const method of ['GET', 'DELETE']) h.astra.faultPlan.inject({ method, path: /.*/, fault: { kind: 'delay', ms: 700 / SCALE }, times: 1_000_000 });
    if (outage) h.astra.fail({ method: 'GET', path: /^\/v2\/currentOrg$/, status: 503, times: 100_000 });
    h.sm.latencyMs = 60 / SCALE;
    h.astra.configure({ rateLimit: { callsPerSecond: 5, retryAfterSeconds: 1 } });
    t.stack.startedAt = new Date();
    const t0 = Date.now();
    let waited = 0;
    const realSleep = timeBudget.sleep;
    jest.spyOn(timeBudget, 'sleep').mockImplementation((ms: number) => realSleep(ms / SCALE));
    const realNow = Date.now;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => t0 + (realNow() - t0) * SCALE + waited);
    try {
      // The function's 3 minutes.
      await withLambdaRetries(deleteRequest(arns, 'r-paced'), (ms) => {
        waited += ms;
      }, 180_000);
    } finally {
      clock.mockRestore();
    }
    expect(cfn).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
    expect(tokens.filter((c) => h.astra.isLive(c))).toEqual([]);
    // Paced under the limit: few calls met it. And few escrow writes (Secrets Manager keeps about 100 versions a day).
    expect(h.astra.requests.filter((r) => r.status === 429).length).toBeLessThan(25);
    expect(escrowWrites()).toBeLessThanOrEqual(32);
  }, 240_000);

  test('a batch the escrow cannot hold is written in parts: none of its secrets goes the old way', async () => {
    const arns = [t.stack.adopt(await rotatedAdminSecret('one'), 'One'), t.stack.adopt(await rotatedAdminSecret('two'), 'Two')];
    const tokens = arns.flatMap(tokensOf);
    // An earlier operation's entry fills the escrow but for room for about one more entry.
    const filler = (bytes: number) => ({
      operation: operationOf('DELETE_IN_PROGRESS', BEFORE),
      arn: arnOf('gone-earlier'),
      versions: {},
      held: [{ clientId: 'filler', token: 'x'.repeat(bytes), versionId: 'v' }],
    });
    const room = 60_000 - Buffer.byteLength(escrowValue([filler(0)]));
    h.sm.addVersion(t.stack.escrowArn, escrowValue([filler(room - 2_000)]), ['AWSCURRENT']);
    const { answer, alerts } = await send('Delete', arns);
    expect(answer).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/2 of 2 secrets deleted, 2 with every token revoked/) });
    expect(alerts).toEqual([]);
    expect(h.lines().filter((l) => l.level === 'WARN' || l.level === 'ERROR')).toEqual([]);
    for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
    expect(escrowed()).toEqual([arnOf('gone-earlier')]);
  });
});
