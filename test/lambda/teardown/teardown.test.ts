import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { DeleteSecretCommand, DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { arnOf, BEFORE, useTeardownHarness } from './teardown-harness';
import { handler } from '../../../lambda';
import type { StackState } from '../../../lambda/clients/cloudformation';
import { isCloudFormationResponseUrl } from '../../../lambda/teardown/cloudformation-answer';
import { confirmDeletion, secretFate } from '../../../lambda/teardown/end-of-life';
import { inTurns } from '../../../lambda/teardown/in-turns';
import { CONTINUATION_WINDOW_MS, declaredSecretArns, isCustomResourceEvent, leavesFirst, listedSecretArns } from '../../../lambda/teardown/teardown';
import { ALERT_NAMES } from '../../../src/shared/alert-names';
import { ADMIN_ROLE, APP_ROLE } from '../support/fake-astra';
import { STACK_ID, TEARDOWN_ID } from '../support/fake-cloudformation';
import { awsError } from '../support/fake-secrets-manager';

const request = (physicalId = 'teardown-1') => ({ StackId: STACK_ID, LogicalResourceId: TEARDOWN_ID, PhysicalResourceId: physicalId });
const OPERATION_START = new Date('2026-12-01T00:00:00Z');
const DURING = new Date('2026-12-01T00:05:00Z');
const state = (status: string, resources: Record<string, string>, template: StackState['template']['Resources'] = {}): StackState => ({
  stackId: STACK_ID,
  status,
  operationStartedAt: OPERATION_START,
  resources: Object.entries(resources).map(([logicalId, physicalId]) => ({ logicalId, physicalId })),
  template: { Resources: template },
});
const DECLARED = { [TEARDOWN_ID]: { Type: 'Custom::AstraTokenTeardown' } };
const tagged = (arn: string, logicalId: string, extra: Record<string, string> = {}) => ({
  arn,
  tags: Object.entries({ 'aws:cloudformation:stack-id': STACK_ID, 'aws:cloudformation:logical-id': logicalId, ...extra }).map(([Key, Value]) => ({ Key, Value })),
});

describe('confirmDeletion: a Delete counts only when CloudFormation\'s own state shows it', () => {
  test.each([
    ['DELETE_IN_PROGRESS', 'stack-deletion'],
    ['ROLLBACK_IN_PROGRESS', 'create-rollback'],
  ])('GIVEN the stack is %s and the request is for the current resource THEN the phase is %s', (status, phase) => {
    expect(confirmDeletion(request(), state(status, { [TEARDOWN_ID]: 'teardown-1' }), STACK_ID)).toEqual({ phase });
  });

  test.each([
    ['UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'update-cleanup'],
    ['UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', 'rollback-cleanup'],
  ])('GIVEN the stack is %s and the request is for a former physical id THEN the phase is %s', (status, phase) => {
    expect(confirmDeletion(request('teardown-old'), state(status, { [TEARDOWN_ID]: 'teardown-new' }, DECLARED), STACK_ID)).toEqual({ phase });
  });

  test('GIVEN a cleanup and a teardown the template no longer declares THEN confirmed only while CloudFormation lists it, as that teardown', () => {
    const listed = (type: string, physicalId = 'teardown-1'): StackState => ({
      ...state('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', {}),
      resources: [{ logicalId: TEARDOWN_ID, physicalId, type }],
    });
    expect(confirmDeletion(request(), listed('Custom::AstraTokenTeardown'), STACK_ID)).toEqual({ phase: 'update-cleanup' });
    // A forged Delete naming a logical id that is no resource, another kind of resource, or another physical id.
    for (const s of [state('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', {}), listed('AWS::S3::Bucket'), listed('Custom::AstraTokenTeardown', 'teardown-2')]) {
      expect(confirmDeletion(request(), s, STACK_ID)).toEqual({ refused: expect.stringMatching(/does not declare .* nor does CloudFormation list it/) });
    }
  });

  test.each(['UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE', 'CREATE_COMPLETE', 'UPDATE_ROLLBACK_IN_PROGRESS', 'CREATE_IN_PROGRESS', 'DELETE_FAILED'])(
    'GIVEN the stack is %s THEN nothing is confirmed: the phase can still roll back, or nothing is being deleted', (status) => {
      const verdict = confirmDeletion(request(), state(status, { [TEARDOWN_ID]: 'teardown-1' }), STACK_ID);
      expect(verdict).toEqual({ refused: expect.stringMatching(new RegExp(`the stack is ${status}`)) });
    });

  test('GIVEN the request\'s logical id is another kind of resource in the template THEN refused', () => {
    const s = { ...state('DELETE_IN_PROGRESS', { [TEARDOWN_ID]: 'teardown-1' }), template: { Resources: { [TEARDOWN_ID]: { Type: 'AWS::S3::Bucket' } } } };
    expect(confirmDeletion(request(), s, STACK_ID)).toEqual({ refused: expect.stringMatching(/is a AWS::S3::Bucket, not a Custom::AstraTokenTeardown/) });
  });

  test('GIVEN a cleanup phase and the current physical id THEN refused: that resource stays', () => {
    const verdict = confirmDeletion(request(), state('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', { [TEARDOWN_ID]: 'teardown-1' }, DECLARED), STACK_ID);
    expect(verdict).toEqual({ refused: expect.stringMatching(/is the current .*which stays/) });
  });

  test('GIVEN a stack deletion and a physical id that is not the current one THEN refused', () => {
    expect(confirmDeletion(request('forged'), state('DELETE_IN_PROGRESS', { [TEARDOWN_ID]: 'teardown-1' }), STACK_ID)).toHaveProperty('refused');
  });

  test('GIVEN a request naming another stack than the deployed one THEN refused before anything else', () => {
    const other = STACK_ID.replace('/S/', '/Other/');
    expect(confirmDeletion({ ...request(), StackId: other }, state('DELETE_IN_PROGRESS', { [TEARDOWN_ID]: 'teardown-1' }), STACK_ID))
      .toEqual({ refused: expect.stringMatching(/not the function's own stack/) });
  });
});

describe('secretFate: whether CloudFormation deletes a secret, from what CloudFormation will do', () => {
  const arn = arnOf('a');
  test.each([
    ['stack-deletion', undefined, true],
    ['stack-deletion', 'Delete', true],
    ['stack-deletion', 'Retain', false],
    ['stack-deletion', 'Snapshot', false],
    ['stack-deletion', 'RetainExceptOnCreate', false],
    ['create-rollback', 'RetainExceptOnCreate', true],
    ['create-rollback', 'Retain', false],
  ] as const)('GIVEN %s and the template\'s DeletionPolicy %s THEN going is %s', (phase, policy, going) => {
    const s = state('X', { Secret: arn }, { Secret: { Type: 'AWS::SecretsManager::Secret', ...policy ? { DeletionPolicy: policy } : {} } });
    expect(secretFate(phase, tagged(arn, 'Secret', { 'astra-token-secret:deletion-policy': 'Delete' }), s).going).toBe(going);
  });

  test('GIVEN an update\'s cleanup and the secret still the stack\'s resource THEN it stays (also when another function rotates it now)', () => {
    const s = state('X', { Secret: arn }, { Secret: { Type: 'AWS::SecretsManager::Secret' } });
    expect(secretFate('update-cleanup', tagged(arn, 'Secret'), s)).toEqual({ going: false, why: 'it is still the stack\'s Secret' });
  });

  test.each([['Delete', true], ['Retain', false], [undefined, true]] as const)(
    'GIVEN an update\'s cleanup and the secret replaced in this operation, UpdateReplacePolicy %s THEN going is %s', (policy, going) => {
      const s = state('X', { Secret: arnOf('new') }, { Secret: { Type: 'AWS::SecretsManager::Secret', ...policy ? { UpdateReplacePolicy: policy } : {} } });
      expect(secretFate('update-cleanup', { ...tagged(arn, 'Secret'), successorCreatedDate: DURING }, s).going).toBe(going);
    });

  test('GIVEN an update\'s cleanup and a replaced secret whose own tag says its replacement kept it THEN not going, and reported', () => {
    const s = state('X', { Secret: arnOf('new') }, { Secret: { Type: 'AWS::SecretsManager::Secret' } });
    const facts = { ...tagged(arn, 'Secret', { 'astra-token-secret:update-replace-policy': 'Retain' }), successorCreatedDate: DURING };
    expect(secretFate('update-cleanup', facts, s)).toEqual({ going: false, unknown: true, why: expect.stringMatching(/kept it on replacement \(UpdateReplacePolicy Retain\)/) });
    const agreed = { ...tagged(arn, 'Secret', { 'astra-token-secret:update-replace-policy': 'Delete' }), successorCreatedDate: DURING };
    expect(secretFate('update-cleanup', agreed, s).going).toBe(true);
  });

  test('GIVEN an update\'s cleanup and a secret replaced in an earlier operation (retained then) THEN it is not going, whatever a request says', () => {
    const s = state('X', { Secret: arnOf('new') }, { Secret: { Type: 'AWS::SecretsManager::Secret' } });
    expect(secretFate('update-cleanup', { ...tagged(arn, 'Secret'), successorCreatedDate: BEFORE }, s))
      .toEqual({ going: false, why: expect.stringMatching(/not replaced by this operation/) });
    expect(secretFate('update-cleanup', tagged(arn, 'Secret'), s)).toMatchObject({ going: false, unknown: true });
  });

  test.each([
    ['update-cleanup', 'Delete', true],
    ['update-cleanup', 'Retain', false],
    ['update-cleanup', 'RetainExceptOnCreate', false],
    ['rollback-cleanup', 'RetainExceptOnCreate', true],
    ['rollback-cleanup', 'Retain', false],
  ] as const)('GIVEN %s and the secret no longer in the template, tagged DeletionPolicy %s THEN going is %s', (phase, policy, going) => {
    const s = state('X', { Secret: arn }, {});
    expect(secretFate(phase, tagged(arn, 'Secret', { 'astra-token-secret:deletion-policy': policy }), s).going).toBe(going);
  });

  test.each([['Delete', true], ['Retain', false], [undefined, true]] as const)(
    'GIVEN a rollback\'s cleanup and the failed update\'s replacement, tagged DeletionPolicy %s THEN going is %s', (policy, going) => {
      const s = state('X', { Secret: arnOf('old') }, { Secret: { Type: 'AWS::SecretsManager::Secret' } });
      const facts = { ...tagged(arn, 'Secret', policy ? { 'astra-token-secret:deletion-policy': policy } : {}), createdDate: DURING };
      expect(secretFate('rollback-cleanup', facts, s).going).toBe(going);
    });

  test('GIVEN a rollback\'s cleanup and a secret older than the operation under the same logical id THEN it is not going', () => {
    const s = state('X', { Secret: arnOf('old') }, { Secret: { Type: 'AWS::SecretsManager::Secret' } });
    expect(secretFate('rollback-cleanup', { ...tagged(arn, 'Secret'), createdDate: BEFORE }, s).going).toBe(false);
  });

  test('GIVEN a cleanup and a secret no longer in the template that CloudFormation no longer lists (retained earlier) THEN not going, and reported', () => {
    expect(secretFate('rollback-cleanup', tagged(arn, 'Secret', { 'astra-token-secret:deletion-policy': 'RetainExceptOnCreate' }), state('X', {}, {})))
      .toEqual({ going: false, unknown: true, why: expect.stringMatching(/not a resource CloudFormation lists/) });
  });

  test('GIVEN a removed secret without the policy tag (deployed before it existed) THEN it is not revoked, and it is reported', () => {
    expect(secretFate('update-cleanup', tagged(arn, 'Secret'), state('X', { Secret: arn }, {})))
      .toEqual({ going: false, unknown: true, why: expect.stringMatching(/carries no astra-token-secret:deletion-policy tag/) });
  });

  test('GIVEN a secret CloudFormation\'s tags tie to another stack, or to another resource THEN it is never going', () => {
    const s = state('X', { Secret: arn }, { Secret: { Type: 'AWS::SecretsManager::Secret' } });
    const otherStack = [{ Key: 'aws:cloudformation:stack-id', Value: STACK_ID.replace('/S/', '/T/') }, { Key: 'aws:cloudformation:logical-id', Value: 'Secret' }];
    expect(secretFate('stack-deletion', { arn, tags: otherStack }, s)).toEqual({ going: false, why: expect.stringMatching(/another stack/) });
    expect(secretFate('stack-deletion', tagged(arn, 'Other'), s).going).toBe(false);
    expect(secretFate('stack-deletion', tagged(arnOf('b'), 'Secret'), s).going).toBe(false);
  });

  test('GIVEN a secret without CloudFormation\'s tags THEN the stack\'s resource list names it; not found there, the fate is unknown (reported)', () => {
    const s = state('X', { Secret: arn }, { Secret: { Type: 'AWS::SecretsManager::Secret' } });
    expect(secretFate('stack-deletion', { arn, tags: [] }, s)).toEqual({ going: true, why: 'stack-deletion, DeletionPolicy Delete' });
    expect(secretFate('update-cleanup', { arn: arnOf('old'), tags: [] }, s)).toEqual({ going: false, unknown: true, why: expect.stringMatching(/no aws:cloudformation tags/) });
  });
});

test('CONTINUATION_WINDOW_MS: Lambda\'s third and last invocation starts past the window, however soon the first two failed: it answers', () => {
  // Two invocations that failed at once; Lambda waited about 1, then 2 minutes (a minute's slack for "about").
  const thirdStartsAfterOperationBegan = 0 + 60_000 + 0 + 120_000;
  expect(CONTINUATION_WINDOW_MS).toBeLessThanOrEqual(thirdStartsAfterOperationBegan - 60_000);
});

test('leavesFirst: root -> mid -> leaf revokes leaf, mid, root, whatever the listed order', () => {
  const root = { arn: 'root' };
  const mid = { arn: 'mid', adminSecretArn: 'root' };
  const leaf = { arn: 'leaf', adminSecretArn: 'mid' };
  const other = { arn: 'other', adminSecretArn: 'imported' };
  expect(leavesFirst([root, mid, leaf, other]).map((s) => s.arn)).toEqual(['leaf', 'mid', 'root', 'other']);
  expect(leavesFirst([leaf, root, mid]).map((s) => s.arn)).toEqual(['leaf', 'mid', 'root']);
});

describe('inTurns: turns at once, in order', () => {
  const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  test('at most `width` at once; a turn that goes alone waits for every turn before it, and the next for it', async () => {
    const events: string[] = [];
    let running = 0;
    let most = 0;
    await inTurns(6, 2, (at) => at === 3, async (at) => {
      running += 1;
      most = Math.max(most, running);
      events.push(`start ${at}`);
      await wait(at === 0 ? 30 : 5);
      events.push(`end ${at}`);
      running -= 1;
    });
    expect(most).toBe(2);
    expect(events.indexOf('start 3')).toBeGreaterThan(Math.max(events.indexOf('end 0'), events.indexOf('end 1'), events.indexOf('end 2')));
    expect(events.indexOf('start 4')).toBeGreaterThan(events.indexOf('end 3'));
  });

  test('a turn that fails (twenty-fourth adversarial review): no turn starts after it, none runs on behind the rejection, and the first failure is thrown', async () => {
    const ended: string[] = [];
    const outcome = await inTurns(4, 2, () => false, async (at) => {
      if (at === 0) {
        await wait(5);
        throw new Error('turn 0 failed');
      }
      await wait(50);
      ended.push(`turn ${at}`);
    }).then(() => 'resolved', (error: Error) => `rejected: ${error.message}`);
    const endedAtAnswer = [...ended];
    await wait(120);
    // Turn 1 was running: it ends before the rejection; turns 2 and 3 never start.
    expect({ outcome, endedAtAnswer, after: ended }).toEqual({ outcome: 'rejected: turn 0 failed', endedAtAnswer: ['turn 1'], after: ['turn 1'] });
  });
});

test('declaredSecretArns: the teardown\'s secrets as the stack\'s template declares them, resolved through the stack', () => {
  const s = {
    ...state('DELETE_IN_PROGRESS', { A: arnOf('a') }),
    template: { Resources: { T: { Type: 'Custom::AstraTokenTeardown', Properties: { Secrets: [{ Arn: { Ref: 'A' } }, { Arn: arnOf('literal') }, { Arn: { Ref: 'Gone' } }, null, { Arn: { 'Fn::GetAtt': ['X', 'Y'] } }] } } } },
  };
  expect(declaredSecretArns(s, 'T')).toEqual([arnOf('a'), arnOf('literal')]);
  expect(declaredSecretArns(s, 'Missing')).toEqual([]);
});

test('listedSecretArns: the ARNs a request lists, once each; anything else is ignored', () => {
  expect(listedSecretArns({ Secrets: [{ Arn: arnOf('a') }, { Arn: arnOf('a'), Destroy: 'true' }, 'junk', null, { Destroy: 'true' }] })).toEqual([arnOf('a')]);
  expect(listedSecretArns({ Secrets: 'not a list' })).toEqual([]);
});

test('isCloudFormationResponseUrl: CloudFormation\'s S3 response host of the stack\'s region; loopback only beside a loopback endpoint', () => {
  const stackIn = (region: string, partition = 'aws') => `arn:${partition}:cloudformation:${region}:123456789012:stack/S/1`;
  const deployed = { SECRETS_MANAGER_ENDPOINT: 'https://secretsmanager.us-east-1.amazonaws.com' };
  const test = { SECRETS_MANAGER_ENDPOINT: 'http://127.0.0.1:4566' };
  for (const [url, stackId, env] of [
    ['https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws?X-Amz-Signature=x', stackIn('us-east-1'), deployed],
    ['https://cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com/x', stackIn('eu-west-1'), deployed],
    ['https://cloudformation-custom-resource-response-usgovwest1.s3-us-gov-west-1.amazonaws.com/x', stackIn('us-gov-west-1', 'aws-us-gov'), deployed],
    ['https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/x', stackIn('cn-north-1', 'aws-cn'), deployed],
    ['http://127.0.0.1:8080/response', stackIn('us-east-1'), test],
    ['http://127.0.0.1:8080/response', stackIn('us-east-1'), { ...deployed, ASTRA_API_URL: 'http://localhost:8081' }],
  ] as const) expect([url, isCloudFormationResponseUrl(url, stackId, env)]).toEqual([url, true]);
  for (const [url, stackId, env] of [
    ['https://example.com/x', stackIn('us-east-1'), deployed],
    ['http://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x', stackIn('us-east-1'), deployed],
    ['https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com.evil.example/x', stackIn('us-east-1'), deployed],
    // Bucket names are first come, first served: one that merely starts like CloudFormation's is not its.
    ['https://cloudformation-custom-resource-response-attackerbucket1.s3.amazonaws.com/x', stackIn('us-east-1'), deployed],
    ['https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/x', stackIn('us-east-1'), deployed],
    ['http://127.0.0.1:8080/response', stackIn('us-east-1'), deployed],
    ['https://user:pw@127.0.0.1/x', stackIn('us-east-1'), test],
    ['not a url', stackIn('us-east-1'), test],
    ['http://127.0.0.1:8080/response', stackIn('us-east-1'), { SECRETS_MANAGER_ENDPOINT: 'not a url' }],
    ['https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x', 'not a stack id', deployed],
  ] as const) expect([url, isCloudFormationResponseUrl(url, stackId, env)]).toEqual([url, false]);
});

test('isCustomResourceEvent tells CloudFormation\'s requests from Secrets Manager\'s rotation events', () => {
  expect(isCustomResourceEvent({ RequestType: 'Delete', ResponseURL: 'x', RequestId: 'r' })).toBe(true);
  expect(isCustomResourceEvent({ Step: 'createSecret', SecretId: arnOf('a'), ClientRequestToken: 'v' })).toBe(false);
  expect(isCustomResourceEvent(null)).toBe(false);
});

describe('the teardown request, served by the handler', () => {
  const t = useTeardownHarness();
  const {
    h, cfn, context, respondTo, deleteRequest, send, rotatedAdminSecret, chainOf, tokensOf, operationOf, escrowValue, escrowed,
    expectFinished,
  } = t;

  /** The escrow's entries for secrets already deleted (a kill inside a batch leaves entries of secrets still there). */
  const escrowedGone = () => escrowed().filter((arn: string) => !h.sm.secrets.has(arn));
  /** Once `when` holds, the clock jumps past the invocation's margin (context()'s 120 s less 20): its time is up there. */
  const timeRunsOut = (when: () => boolean) => {
    const realNow = Date.now;
    return jest.spyOn(Date, 'now').mockImplementation(() => realNow() + (when() ? 101_000 : 0));
  };

  test('Create and Update revoke nothing and answer a new physical id each time (the old one is deleted in the cleanup)', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    t.stack.status = 'UPDATE_IN_PROGRESS';
    const before = h.astra.tokens.size;
    const created = await send('Create', [arn]);
    const updated = await send('Update', [arn]);
    expect(created.answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `${TEARDOWN_ID}-r1` });
    expect(updated.answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `${TEARDOWN_ID}-r2` });
    expect(h.astra.tokens.size).toBe(before);
    expect(t.stack.calls).toEqual([]);
  });

  test('a stack deletion: an admin-minted secret\'s tokens (AWSCURRENT\'s, AWSPREVIOUS\'s, an abandoned rotation\'s) are revoked; SUCCESS', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    await h.step('createSecret', arn, h.sm.startRotation(arn));
    h.sm.removeStage(arn, 'AWSPENDING');
    const { answer, alerts } = await send('Delete', [arn]);
    expect(answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'teardown-1', Reason: expect.stringMatching(/^stack-deletion: 1 of 1 secrets deleted/) });
    expect(alerts).toEqual([]);
    expect([...h.astra.tokens.keys()]).toEqual([h.admin.clientId]);
    expect(t.stack.calls).toEqual([`DescribeStacks ${STACK_ID}`, 'ListStackResources', 'GetTemplate']);
  });

  test('a self-rotating secret: its other tokens first, then its last token revokes itself', async () => {
    const { arn } = h.selfSecret();
    t.stack.adopt(arn, 'Secret');
    await h.rotate(arn);
    const last = h.sm.valueAt(arn, 'AWSCURRENT').clientID;
    await send('Delete', [arn]);
    const deletes = h.astra.requests.filter((r) => r.method === 'DELETE');
    expect(deletes[deletes.length - 1]).toMatchObject({ path: `/v2/clientIdSecrets/${last}`, bearerClientId: last });
    expect(h.astra.tokens.size).toBe(1);
  });

  test('a forged Delete while the stack is not deleting anything: nothing revoked, an ERROR alert, and the answer says why', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    t.stack.status = 'UPDATE_COMPLETE';
    const before = { tokens: h.astra.tokens.size, deletes: h.astra.count('DELETE') };
    const { answer, alerts } = await send('Delete', [arn]);
    expect(h.astra.tokens.size).toBe(before.tokens);
    expect(h.astra.count('DELETE')).toBe(before.deletes);
    expect(answer).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/^nothing revoked: the stack is UPDATE_COMPLETE/) });
    expect(alerts).toEqual([expect.objectContaining({ level: 'ERROR', alert: 'TeardownNotConfirmedByCloudFormation', stackId: STACK_ID })]);
  });

  test('a Delete naming another stack: refused without asking CloudFormation', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    process.env.STACK_ID = STACK_ID.replace('/S/', '/Deployed/');
    const before = h.astra.tokens.size;
    const { alerts } = await send('Delete', [arn]);
    expect(h.astra.tokens.size).toBe(before);
    expect(alerts[0].message).toMatch(/not the function's own stack/);
  });

  test('a secret the template retains, and a secret not of this stack, are not touched; no alert', async () => {
    const retained = t.stack.adopt(await rotatedAdminSecret('retained'), 'Retained', { DeletionPolicy: 'Retain' });
    const foreign = await rotatedAdminSecret('foreign');
    h.sm.secrets.get(foreign)!.tags.push({ Key: 'aws:cloudformation:stack-id', Value: STACK_ID.replace('/S/', '/Other/') });
    const before = h.astra.tokens.size;
    const { answer, alerts } = await send('Delete', [retained, foreign]);
    expect(h.astra.tokens.size).toBe(before);
    expect(alerts).toEqual([]);
    // A stack deletion takes the teardown's secrets from the template: the foreign one the request named is not looked at.
    expect(answer.Reason).toMatch(/0 of 1 secrets deleted/);
    expect(h.lines().some((l) => l.step === 'teardown' && l.secretArn === foreign)).toBe(false);
  });

  test('an update\'s cleanup: a removed secret tagged Delete goes; the secrets still in the stack (moved to another function or not) stay', async () => {
    const removed = t.stack.adopt(await rotatedAdminSecret('removed'), 'Removed');
    const staying = t.stack.adopt(await rotatedAdminSecret('staying'), 'Staying');
    const stayingTokens = [...h.astra.tokens.keys()].filter((c) => tokensOf(staying).includes(c));
    t.stack.removeFromTemplate('Removed');
    t.stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    t.stack.teardown('teardown-2');
    const removedToken = h.sm.valueAt(removed, 'AWSCURRENT').clientID;
    const { answer, alerts } = await send('Delete', [removed, staying], { physicalId: 'teardown-1' });
    expect(alerts).toEqual([]);
    expect(answer.Reason).toMatch(/^update-cleanup: 1 of 2 secrets deleted, 1 with every token revoked/);
    expect(h.astra.isLive(removedToken)).toBe(false);
    expect(h.sm.secrets.has(removed)).toBe(false);
    expect(h.sm.secrets.has(staying)).toBe(true);
    for (const c of stayingTokens) expect(h.astra.isLive(c)).toBe(true);
  });

  test('an update\'s cleanup after a rename: the replaced secret goes; one a request names that an earlier operation replaced stays', async () => {
    const earlier = t.stack.adopt(await rotatedAdminSecret('earlier'), 'Kept');
    const old = t.stack.adopt(await rotatedAdminSecret('old'), 'Renamed');
    await new Promise((resolve) => setTimeout(resolve, 5));
    t.stack.startedAt = new Date();
    const successor = h.sm.create('successor', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(APP_ROLE) });
    t.stack.resources.set('Renamed', { physicalId: successor, type: 'AWS::SecretsManager::Secret' });
    // `earlier` was replaced (and retained) by an operation before this one: its logical id's secret is older.
    h.sm.secrets.get(earlier)!.tags.find((tag) => tag.Key === 'aws:cloudformation:logical-id')!.Value = 'Renamed';
    t.stack.resources.set('Kept', { physicalId: h.sm.create('kept-now', '{}'), type: 'AWS::SecretsManager::Secret' });
    h.sm.secrets.get(earlier)!.tags.find((tag) => tag.Key === 'aws:cloudformation:logical-id')!.Value = 'Kept';
    h.sm.secrets.get(t.stack.resources.get('Kept')!.physicalId)!.createdDate = new Date(0);
    t.stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    t.stack.teardown('teardown-2');
    const liveOfEarlier = h.sm.valueAt(earlier, 'AWSCURRENT').clientID;
    const oldToken = h.sm.valueAt(old, 'AWSCURRENT').clientID;
    const { answer } = await send('Delete', [old, earlier], { physicalId: 'teardown-1' });
    expect(answer.Reason).toMatch(/^update-cleanup: 1 of 2 secrets deleted, 1 with every token revoked/);
    expect(h.astra.isLive(oldToken)).toBe(false);
    expect(h.astra.isLive(liveOfEarlier)).toBe(true);
    expect(h.lines().find((l) => l.step === 'teardown' && l.secretArn === earlier)!.outcome).toMatch(/not replaced by this operation/);
  });

  test('a removed secret last deployed without the DeletionPolicy tag: not revoked, and an ERROR alert says so', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret('untagged'), 'Untagged');
    h.sm.secrets.get(arn)!.tags = h.sm.secrets.get(arn)!.tags.filter((tag) => tag.Key !== 'astra-token-secret:deletion-policy');
    t.stack.removeFromTemplate('Untagged');
    t.stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    t.stack.teardown('teardown-2');
    const before = h.astra.tokens.size;
    const { alerts } = await send('Delete', [arn], { physicalId: 'teardown-1' });
    expect(h.astra.tokens.size).toBe(before);
    expect(alerts).toEqual([expect.objectContaining({ alert: 'TokensLeftLiveOnDeletion', secretArn: arn, message: expect.stringMatching(/carries no astra-token-secret:deletion-policy tag/) })]);
  });

  test('an admin whose token is dead while its secret still has live tokens: reported, naming the admin', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    const other = h.selfSecret();
    t.stack.adopt(other.arn, 'Other');
    await h.rotate(other.arn);
    h.astra.tokens.delete(h.admin.clientId);
    const { alerts } = await send('Delete', [arn, other.arn]);
    expect(alerts).toEqual([expect.objectContaining({ secretArn: arn, message: expect.stringMatching(/the admin token in .* no longer authenticates, so it cannot revoke/) })]);
  });

  test('a forged Delete during a real cleanup naming a secret an earlier replacement kept, while its logical id is replaced again: left live (second adversarial review)', async () => {
    const earlier = t.stack.adopt(await rotatedAdminSecret('earlier'), 'Renamed');
    h.sm.secrets.get(earlier)!.tags.push({ Key: 'astra-token-secret:update-replace-policy', Value: 'Retain' });
    const old = t.stack.adopt(await rotatedAdminSecret('old'), 'Renamed');
    h.sm.secrets.get(old)!.tags.push({ Key: 'astra-token-secret:update-replace-policy', Value: 'Delete' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    t.stack.startedAt = new Date();
    const successor = h.sm.create('successor', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(APP_ROLE) });
    t.stack.resources.set('Renamed', { physicalId: successor, type: 'AWS::SecretsManager::Secret' });
    t.stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    t.stack.teardown('teardown-2');
    const liveOfEarlier = h.sm.valueAt(earlier, 'AWSCURRENT').clientID;
    const oldToken = h.sm.valueAt(old, 'AWSCURRENT').clientID;
    const { alerts } = await send('Delete', [earlier, old], { physicalId: 'forged-former-id' });
    expect(h.astra.isLive(liveOfEarlier)).toBe(true);
    expect(h.sm.secrets.has(earlier)).toBe(true);
    expect(h.astra.isLive(oldToken)).toBe(false);
    expect(alerts).toEqual([expect.objectContaining({ secretArn: earlier, message: expect.stringMatching(/kept it on replacement/) })]);
  });

  test('the secret goes first, then its tokens: DeleteSecret precedes every revocation, and the escrow is empty afterwards', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    const tokens = tokensOf(arn);
    const order: string[] = [];
    const astraRequests = h.astra.requests.length;
    h.sm.mock.on(DeleteSecretCommand).callsFake((input) => {
      order.push(`DeleteSecret after ${h.astra.requests.slice(astraRequests).filter((r) => r.method === 'DELETE').length} revocations`);
      h.sm.secrets.delete(input.SecretId);
      return {};
    });
    const { answer, alerts } = await send('Delete', [arn]);
    expect(order).toEqual(['DeleteSecret after 0 revocations']);
    expectFinished({ answer, alerts }, tokens);
  });

  test('a deletion that commits and loses its answer, which Secrets Manager cannot settle at once: the second round finds the secret gone and revokes its tokens', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    t.stack.startedAt = new Date();
    const tokens = tokensOf(arn);
    h.sm.failNextAfterCommit('DeleteSecret');
    h.sm.failNext('DescribeSecret', awsError('InternalServiceError', 'injected'), (i) => i.SecretId === arn && h.sm.count('DeleteSecret') > 0);
    const { answer, alerts } = await send('Delete', [arn]);
    expectFinished({ answer, alerts }, tokens);
  });

  test('killed between the deletion and the revocation (out of time while the operation is young): the escrow carries the tokens to the retry, which revokes them', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    t.stack.startedAt = new Date();
    const tokens = tokensOf(arn);
    const clock = timeRunsOut(() => h.sm.count('DeleteSecret') > 0);
    const requestEvent = deleteRequest([arn], 'r-killed');
    await expect(handler(requestEvent, context())).rejects.toThrow(/Lambda's retry of the request continues/);
    clock.mockRestore();
    expect(h.sm.secrets.has(arn)).toBe(false);
    for (const c of tokens) expect(h.astra.isLive(c)).toBe(true);
    expect(h.sm.valueAt(t.stack.escrowArn, 'AWSCURRENT').entries.map((e: { arn: string }) => e.arn)).toEqual([arn]);
    expect(JSON.stringify(h.sm.valueAt(t.stack.escrowArn, 'AWSCURRENT'))).not.toMatch(/clientSecret/);
    await handler(requestEvent, context());
    for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
    expect(cfn).toEqual([expect.objectContaining({ Status: 'SUCCESS', Reason: expect.stringMatching(/1 of 1 secrets deleted, 1 with every token revoked/) })]);
    expect(h.sm.valueAt(t.stack.escrowArn, 'AWSCURRENT').entries).toEqual([]);
  });

  test('a secret Secrets Manager will not delete keeps its live tokens, so does the admin secret it needs; FAILED, and the retry finishes', async () => {
    const root = h.sm.create('root', JSON.stringify({ astraKey: h.admin.token, clientID: h.admin.clientId, clientSecret: h.admin.secret, roleID: ADMIN_ROLE, engine: 'AstraDB' }),
      { tags: h.binding(ADMIN_ROLE) });
    const mid = h.sm.create('mid', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(ADMIN_ROLE, root) });
    const leaf = h.sm.create('leaf', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(APP_ROLE, mid) });
    const other = t.stack.adopt(await rotatedAdminSecret('other'), 'Other');
    for (const arn of [mid, leaf]) await h.rotate(arn);
    for (const [arn, id] of [[root, 'Root'], [mid, 'Mid'], [leaf, 'Leaf']]) t.stack.adopt(arn, id);
    const live = { root: h.admin.clientId, mid: h.sm.valueAt(mid, 'AWSCURRENT').clientID, leaf: h.sm.valueAt(leaf, 'AWSCURRENT').clientID };
    const otherToken = h.sm.valueAt(other, 'AWSCURRENT').clientID;
    const replicas = awsError('InvalidRequestException', 'You can\'t delete secret leaf because it still has replica regions', 'client', 400);
    h.sm.failNext('DeleteSecret', replicas, (i) => i.SecretId === leaf);
    const { answer, alerts } = await send('Delete', [root, mid, leaf, other]);
    expect(answer).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/not deleted, so their tokens stay live: .*leaf.*mid.*root.*Remove the cause and retry/) });
    expect(alerts).toEqual([]);
    for (const arn of [root, mid, leaf]) expect(h.sm.secrets.has(arn)).toBe(true);
    for (const c of Object.values(live)) expect(h.astra.isLive(c)).toBe(true);
    expect(h.sm.secrets.has(other)).toBe(false);
    expect(h.astra.isLive(otherToken)).toBe(false);
    // The cause removed, CloudFormation's retried deletion sends the Delete again.
    await send('Delete', [root, mid, leaf, other]);
    expect(cfn[cfn.length - 1]).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/4 of 4 secrets deleted \(1 by an earlier attempt\)/) });
    for (const c of Object.values(live)) expect(h.astra.isLive(c)).toBe(false);
  });

  test.each([
    ['the role may not delete the secret', () => h.sm.failNext('DeleteSecret', awsError('AccessDeniedException', 'not authorized to perform: secretsmanager:DeleteSecret', 'client', 400)),
      /the function may not delete it \(.*not authorized/],
    ['the stack declares no escrow (a template from before it)', () => t.stack.withoutEscrow(), /declares no escrow/],
    ['the escrow cannot be written', () => h.sm.failNext('PutSecretValue', awsError('AccessDeniedException', 'not authorized to perform: PutSecretValue', 'client', 400),
      (i) => i.SecretId === t.stack.escrowArn), /escrow could not be written/],
  ])('%s: its tokens are revoked before CloudFormation deletes it, as before the escrow', async (_what, arrange, why) => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    const token = h.sm.valueAt(arn, 'AWSCURRENT').clientID;
    arrange();
    const { answer, alerts } = await send('Delete', [arn]);
    expect(answer).toMatchObject({ Status: 'SUCCESS' });
    expect(alerts).toEqual([]);
    expect(h.lines().find((l) => l.level === 'WARN' && l.secretArn === arn)!.outcome).toMatch(why);
    expect(h.astra.isLive(token)).toBe(false);
    expect(h.sm.secrets.has(arn)).toBe(true);
  });

  test('an escrow that cannot be written (full, or refused) is one ERROR line per invocation, and every secret goes the old way', async () => {
    const arns = [t.stack.adopt(await rotatedAdminSecret('one'), 'One'), t.stack.adopt(await rotatedAdminSecret('two'), 'Two')];
    for (let i = 0; i < 2; i++) {
      h.sm.failNext('PutSecretValue', awsError('AccessDeniedException', 'not authorized to perform: PutSecretValue', 'client', 400), (x) => x.SecretId === t.stack.escrowArn);
    }
    await send('Delete', arns);
    expect(h.lines().filter((l) => l.level === 'ERROR' && /escrow .* could not be written/.test(String(l.outcome)))).toHaveLength(1);
    expect(h.lines().filter((l) => l.level === 'WARN' && /the escrow could not be written/.test(String(l.outcome)))).toHaveLength(2);
  });

  test('an escrow other invocations keep writing (every try of a write overtaken): the secret is not deleted yet, and the second round deletes it and revokes', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    const tokens = tokensOf(arn);
    t.stack.startedAt = new Date();
    for (let i = 0; i < 5; i++) {
      h.sm.failNext('UpdateSecretVersionStage', awsError('InvalidParameterException', 'AWSCURRENT is attached to another version', 'client', 400),
        (x) => x.SecretId === t.stack.escrowArn);
    }
    const { answer, alerts } = await send('Delete', [arn]);
    expect(h.lines().filter((l) => l.level === 'WARN' && l.secretArn === arn)).toEqual([]);
    expectFinished({ answer, alerts }, tokens);
  });

  test('the escrow is evidence of nothing by itself: an entry for a secret that exists, or that this teardown does not list, revokes nothing', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    const stranger = h.selfSecret();
    await h.rotate(stranger.arn);
    const strangerValue = h.sm.valueAt(stranger.arn, 'AWSCURRENT');
    // A writer of the escrow names a secret still in the stack (retained) and one outside it, both with live tokens.
    t.stack.template.Resources.Secret.DeletionPolicy = 'Retain';
    const entry = (a: string, value: unknown, operation: string) => ({ operation, arn: a, current: value, versions: {}, held: [] });
    h.sm.addVersion(t.stack.escrowArn, escrowValue([entry(arn, h.sm.valueAt(arn, 'AWSCURRENT'), operationOf()), entry(arnOf('gone-stranger'), strangerValue, operationOf()),
      entry(arnOf('gone-earlier'), strangerValue, operationOf('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', BEFORE))]), ['AWSCURRENT']);
    const before = h.astra.tokens.size;
    const { answer } = await send('Delete', [arn, arnOf('gone-stranger')]);
    expect(answer).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/0 of 1 secrets deleted/) });
    expect(h.astra.tokens.size).toBe(before);
    expect(h.sm.secrets.has(arn)).toBe(true);
  });

  test('an escrow entry an earlier operation left counts for nothing for a secret that answers AccessDenied (third adversarial review)', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    const tokens = tokensOf(arn);
    t.stack.template.Resources.Secret.DeletionPolicy = 'Retain';
    const entry = { operation: operationOf('DELETE_IN_PROGRESS', BEFORE), arn, current: h.sm.valueAt(arn, 'AWSCURRENT'), versions: {}, held: [] };
    h.sm.addVersion(t.stack.escrowArn, escrowValue([entry]), ['AWSCURRENT']);
    h.sm.failNext('DescribeSecret', awsError('AccessDeniedException', 'not authorized', 'client', 400), (i) => i.SecretId === arn);
    await send('Delete', [arn]);
    expect(h.sm.secrets.has(arn)).toBe(true);
    for (const c of tokens) expect(h.astra.isLive(c)).toBe(true);
  });

  test('an escrow that cannot be read: the secrets are revoked before CloudFormation deletes them, and an alert says earlier deletions may have left tokens', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    h.sm.failNext('GetSecretValue', awsError('InternalServiceError', 'injected'), (i) => i.SecretId === t.stack.escrowArn);
    const { alerts } = await send('Delete', [arn]);
    expect(alerts).toEqual([expect.objectContaining({ alert: 'TokensLeftLiveOnDeletion', message: expect.stringMatching(/escrow .* could not be read/) })]);
    expect(h.lines().find((l) => l.level === 'WARN' && l.secretArn === arn)!.outcome).toMatch(/the escrow could not be read/);
  });


  test('a leaf someone scheduled for deletion that Secrets Manager will not delete either: it stays, and so do its admins, with live tokens; FAILED (fourteenth adversarial review)', async () => {
    const { root, mid, leaf, tokens } = await chainOf();
    t.stack.startedAt = new Date();
    h.sm.mock.on(DeleteSecretCommand, { SecretId: leaf }).callsFake(() => {
      h.sm.secrets.get(leaf)!.deletedDate = new Date();
      throw awsError('InvalidRequestException', 'You can\'t delete secret leaf because it still has replica regions', 'client', 400);
    });
    const { answer } = await send('Delete', [root, mid, leaf]);
    expect(answer).toMatchObject({ Status: 'FAILED' });
    for (const arn of [root, mid, leaf]) expect(h.sm.secrets.has(arn)).toBe(true);
    for (const c of Object.values(tokens)) expect(h.astra.isLive(c)).toBe(true);
    expect(escrowed()).toEqual([leaf]);
    // The stack deletion retried while the leaf is still refused: its kept entry holds the admins again.
    t.stack.startedAt = new Date(Date.now() + 1_000);
    const retried = await send('Delete', [root, mid, leaf]);
    expect(retried.answer).toMatchObject({ Status: 'FAILED' });
    for (const c of Object.values(tokens)) expect(h.astra.isLive(c)).toBe(true);
  });

  test('a leaf\'s deletion whose answer is lost and cannot be checked at once: its admin waits for the second round, which revokes the leaf, then the admin (adversarial review)', async () => {
    const { root, mid, leaf, tokens } = await chainOf();
    t.stack.startedAt = new Date();
    h.sm.failNextAfterCommit('DeleteSecret');
    h.sm.failNext('DescribeSecret', awsError('InternalServiceError', 'injected'), (i) => i.SecretId === leaf && h.sm.count('DeleteSecret') > 0);
    await handler(deleteRequest([root, mid, leaf], 'r-chain'), context());
    for (const c of Object.values(tokens)) expect(h.astra.isLive(c)).toBe(false);
    const deletes = h.astra.requests.filter((r) => r.method === 'DELETE').map((r) => r.path.split('/').pop());
    expect(deletes.indexOf(tokens.leaf)).toBeLessThan(deletes.indexOf(tokens.mid));
    expect(cfn).toEqual([expect.objectContaining({ Status: 'SUCCESS', Reason: expect.stringMatching(/3 of 3 secrets deleted, 3 with every token revoked/) })]);
  });

  test('a deletion that commits and loses its answer late in the operation: Secrets Manager says it is gone, and its tokens are revoked at once (adversarial review)', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    t.stack.startedAt = new Date(Date.now() - 20 * 60_000);
    const tokens = tokensOf(arn);
    h.sm.failNextAfterCommit('DeleteSecret');
    const { answer, alerts } = await send('Delete', [arn]);
    expectFinished({ answer, alerts }, tokens);
  });

  test('a deletion that fails and did not happen: sent again at once, the secret goes, then its tokens (never revoked while it exists)', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    const tokens = tokensOf(arn);
    h.sm.failNext('DeleteSecret');
    expectFinished(await send('Delete', [arn]), tokens);
    expect(h.sm.count('DeleteSecret')).toBe(2);
    expect(h.lines().filter((l) => l.level === 'WARN')).toEqual([]);
  });

  test('a secret that cannot be deleted, whose first DeleteSecret failed with a server error: sent again, refused, so it stays with its live tokens; FAILED', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    const tokens = tokensOf(arn);
    h.sm.failNext('DeleteSecret', awsError('InternalServiceError', 'injected'));
    for (let i = 0; i < 3; i++) h.sm.failNext('DeleteSecret', awsError('InvalidRequestException', 'it still has replica regions', 'client', 400));
    const { answer } = await send('Delete', [arn]);
    expect(answer).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/not deleted, so their tokens stay live/) });
    expect(h.sm.secrets.has(arn)).toBe(true);
    for (const c of tokens) expect(h.astra.isLive(c)).toBe(true);
  });

  test('a DeleteSecret refused as the secret is marked for deletion by an earlier one of ours, whose answer was lost: not a secret that stays; deleted, then revoked, or named', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    const tokens = tokensOf(arn);
    t.stack.startedAt = new Date();
    let sent = 0;
    h.sm.mock.on(DeleteSecretCommand).callsFake(() => {
      sent += 1;
      h.sm.secrets.get(arn)!.deletedDate = new Date();
      if (sent === 1) throw awsError('InternalServiceError', 'committed, answer lost');
      // The deletion under way finishes meanwhile.
      if (sent >= 2) h.sm.secrets.delete(arn);
      throw awsError('InvalidRequestException', 'You can\'t perform this operation on the secret because it was marked for deletion.', 'client', 400);
    });
    h.sm.failNext('DescribeSecret', awsError('InternalServiceError', 'injected'), (x) => x.SecretId === arn && sent === 1);
    const { answer } = await send('Delete', [arn]);
    expect(answer).toMatchObject({ Status: 'SUCCESS' });
    expect(h.sm.secrets.has(arn)).toBe(false);
    for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
  });

  test('a deletion that goes unanswered in both rounds: SUCCESS at once, and the alert names the tokens its values named, as claims', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    t.stack.startedAt = new Date();
    const tokens = tokensOf(arn);
    h.sm.failNextAfterCommit('DeleteSecret');
    for (let i = 0; i < 2; i++) h.sm.failNext('DescribeSecret', awsError('InternalServiceError', 'injected'), (x) => x.SecretId === arn && h.sm.count('DeleteSecret') > 0);
    h.sm.failNext('DeleteSecret', awsError('InternalServiceError', 'injected'));
    const { answer, alerts } = await send('Delete', [arn]);
    expect(answer).toMatchObject({ Status: 'SUCCESS' });
    expect(alerts).toEqual([expect.objectContaining({
      secretArn: arn,
      clientIds: [],
      notProvenClientIds: expect.arrayContaining(tokens),
      message: expect.stringMatching(/not all of its tokens are known to be revoked \(left live: Secrets Manager did not answer its deletion\)/),
    })]);
    // Deleted or not, nobody can say yet: the entry stays for a later invocation to settle.
    expect(escrowed()).toEqual([arn]);
  });

  test('an escrow write that commits and reports an error: the tokens are revoked first, and the escrow holds no entry afterwards (adversarial review)', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    h.sm.failNextAfterCommit('PutSecretValue');
    const { answer } = await send('Delete', [arn]);
    expect(answer).toMatchObject({ Status: 'SUCCESS' });
    expect(h.sm.valueAt(t.stack.escrowArn, 'AWSCURRENT').entries ?? []).toEqual([]);
  });

  test('a forged escrow entry and a forged cleanup Delete naming a secret that never existed: nothing revoked (adversarial review)', async () => {
    const stranger = h.selfSecret();
    await h.rotate(stranger.arn);
    const strangerId = h.sm.valueAt(stranger.arn, 'AWSCURRENT').clientID;
    const admin = t.stack.adopt(h.sm.create('real-admin', JSON.stringify({ astraKey: h.admin.token, clientID: h.admin.clientId, clientSecret: h.admin.secret, roleID: ADMIN_ROLE, engine: 'AstraDB' }),
      { tags: h.binding(ADMIN_ROLE) }), 'RealAdmin');
    t.stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    t.stack.teardown('teardown-2');
    t.stack.startedAt = new Date();
    const ghost = arnOf('ghost');
    const forged = {
      arn: ghost,
      adminSecretArn: admin,
      current: { clientID: strangerId, engine: 'AstraDB', pendingRevocations: [h.admin.clientId] },
      versions: { current: 'v1' },
      held: [{ clientId: strangerId, token: 'AstraCS:forged:0000', versionId: 'v1' }],
    };
    h.sm.addVersion(t.stack.escrowArn, escrowValue([{ operation: operationOf(), ...forged }, { operation: operationOf('DELETE_IN_PROGRESS', BEFORE), ...forged }]), ['AWSCURRENT']);
    const before = h.astra.tokens.size;
    await send('Delete', [ghost], { physicalId: 'forged-former-id' });
    expect(h.astra.isLive(strangerId)).toBe(true);
    expect(h.astra.isLive(h.admin.clientId)).toBe(true);
    expect(h.astra.tokens.size).toBe(before);
  });

  test('a refusal whose message echoes a token: the token reaches neither the answer nor a log line', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    const token = h.sm.valueAt(arn, 'AWSCURRENT').astraKey as string;
    h.sm.failNext('DeleteSecret', awsError('InvalidRequestException', `cannot delete: ${token}`, 'client', 400));
    const { answer } = await send('Delete', [arn]);
    expect(answer.Status).toBe('FAILED');
    expect(JSON.stringify(answer)).not.toContain(token);
    expect(JSON.stringify(h.lines())).not.toContain(token);
  });

  test('a secret with replica regions: left to CloudFormation, which removes the replicas; its tokens are revoked first', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    h.sm.secrets.get(arn)!.replicaRegions = ['eu-west-1'];
    const token = h.sm.valueAt(arn, 'AWSCURRENT').clientID;
    const { answer } = await send('Delete', [arn]);
    expect(answer).toMatchObject({ Status: 'SUCCESS' });
    expect(h.sm.count('DeleteSecret')).toBe(0);
    expect(h.lines().find((l) => l.level === 'WARN' && l.secretArn === arn)!.outcome).toMatch(/replica regions/);
    expect(h.astra.isLive(token)).toBe(false);
  });

  test('in an update\'s cleanup a refused secret leaves the stack whole, with an alert, and the rest of its chain goes as usual (adversarial review)', async () => {
    const { root, mid, leaf, tokens } = await chainOf();
    for (const id of ['Root', 'Mid', 'Leaf']) t.stack.removeFromTemplate(id);
    t.stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    t.stack.teardown('teardown-2');
    h.sm.failNext('DeleteSecret', awsError('InvalidRequestException', 'a pending operation', 'client', 400), (i) => i.SecretId === leaf);
    const { answer, alerts } = await send('Delete', [root, mid, leaf], { physicalId: 'teardown-1' });
    expect(answer).toMatchObject({ Status: 'SUCCESS' });
    expect(h.sm.secrets.has(leaf)).toBe(true);
    expect(h.astra.isLive(tokens.leaf)).toBe(true);
    expect(h.astra.isLive(tokens.mid)).toBe(false);
    expect(alerts).toEqual([expect.objectContaining({
      secretArn: leaf, clientIds: [], notProvenClientIds: [tokens.leaf], message: expect.stringMatching(/leaves the stack, but .*refused to delete/),
    })]);
  });

  test('a leaf whose revocation fails in the first round: its admin waits, and the second round revokes both (second adversarial review)', async () => {
    const { root, mid, leaf, tokens } = await chainOf();
    t.stack.startedAt = new Date();
    // Every attempt of the Astra client's first DELETE of the leaf's token fails; then Astra recovers.
    h.astra.fail({ method: 'DELETE', path: new RegExp(`/v2/clientIdSecrets/${tokens.leaf}$`), status: 503, times: 3 });
    const { answer, alerts } = await send('Delete', [root, mid, leaf]);
    expect(alerts).toEqual([]);
    for (const c of Object.values(tokens)) expect(h.astra.isLive(c)).toBe(false);
    expect(answer).toMatchObject({ Status: 'SUCCESS' });
  });

  test('a leaf whose revocation fails in both rounds: no retry comes for a failure that took no time, so the admin goes, and the alert names the leaf\'s tokens', async () => {
    const { root, mid, leaf, tokens } = await chainOf();
    t.stack.startedAt = new Date();
    h.astra.fail({ method: 'DELETE', path: new RegExp(`/v2/clientIdSecrets/${tokens.leaf}$`), status: 503, times: 100 });
    const { answer, alerts } = await send('Delete', [root, mid, leaf]);
    expect(answer).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/tokens left live for .*leaf/) });
    expect(alerts).toEqual([expect.objectContaining({ secretArn: leaf, clientIds: [tokens.leaf] })]);
    expect(h.astra.isLive(tokens.mid)).toBe(false);
    expect(h.astra.isLive(tokens.root)).toBe(false);
  });

  test('forged Deletes between a real request\'s invocations, with another RequestId or the same one, change neither when it answers nor what it finds in the escrow (third adversarial review, B2/B3)', async () => {
    // One secret's turn at a time: the clock runs out after so many secrets' revocations.
    process.env.TEARDOWN_TURNS_AT_ONCE = '1';
    const arns = [];
    for (const name of ['first', 'second', 'third']) arns.push(t.stack.adopt(await rotatedAdminSecret(name), name));
    const tokens = arns.flatMap(tokensOf);
    t.stack.startedAt = new Date();
    const real = deleteRequest(arns, 'r-real');
    /** Out of time once this many secrets' tokens are revoked (two each; 0: once it has read the stack), or never. */
    const invoke = async (event: Record<string, unknown>, runsOutAfterSecrets?: number) => {
      const [revocations, reads] = [h.astra.count('DELETE'), t.stack.calls.length];
      const clock = runsOutAfterSecrets === undefined ? undefined
        : timeRunsOut(() => t.stack.calls.length > reads && h.astra.count('DELETE') >= revocations + 2 * runsOutAfterSecrets);
      try {
        return await handler(event, context()).then(() => 'answered', (error: Error) => error.message);
      } finally {
        clock?.mockRestore();
      }
    };
    // The three are deleted together, after one escrow write; the first one's tokens are revoked before the time is up.
    expect(await invoke(real, 1)).toMatch(/Lambda's retry of the request continues/);
    expect(escrowedGone()).toEqual([arns[1], arns[2]]);
    // Forgeries with the same RequestId, out of time at once, as a count of invocations would have seen them.
    for (let i = 0; i < 3; i++) expect(await invoke({ ...real, ResponseURL: `${respondTo()}?forged-${i}` }, 0)).toMatch(/retry of the request continues/);
    // A forgery with another RequestId: it finishes the second secret from the escrow, runs out of time.
    expect(await invoke({ ...deleteRequest(arns, 'r-forged'), ResponseURL: `${respondTo()}?forged` }, 1)).toMatch(/retry of the request continues/);
    expect(escrowedGone()).toEqual([arns[2]]);
    // The real request's retry, out of time again while the operation is young, still leaves the rest to Lambda.
    expect(await invoke(real, 0)).toMatch(/Lambda's retry of the request continues/);
    expect(escrowedGone()).toEqual([arns[2]]);
    expect(await invoke(real)).toBe('answered');
    for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
    expect(cfn.filter((a) => a.RequestId === 'r-real')).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
    expect(h.lines().filter((l) => l.alert === 'TokensLeftLiveOnDeletion')).toEqual([]);
    expect(escrowed()).toEqual([]);
  });

  test('in a cleanup, a forged Delete listing fewer secrets keeps the entries of the secrets it does not list: the real retry revokes them (third adversarial review)', async () => {
    const [kept, other] = [t.stack.adopt(await rotatedAdminSecret('kept'), 'Kept'), t.stack.adopt(await rotatedAdminSecret('other'), 'Other')];
    const tokens = tokensOf(kept);
    for (const id of ['Kept', 'Other']) t.stack.removeFromTemplate(id);
    t.stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    t.stack.startedAt = new Date();
    t.stack.teardown('teardown-2');
    const real = deleteRequest([kept, other], 'r-cleanup');
    const clock = timeRunsOut(() => h.sm.count('DeleteSecret') > 0);
    await expect(handler(real, context())).rejects.toThrow(/Lambda's retry of the request continues/);
    clock.mockRestore();
    await handler({ ...deleteRequest([other], 'r-forged'), ResponseURL: `${respondTo()}?forged` }, context());
    expect(h.sm.valueAt(t.stack.escrowArn, 'AWSCURRENT').entries.map((e: { arn: string }) => e.arn)).toEqual([kept]);
    await handler(real, context());
    for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
    expect(cfn.filter((a) => a.RequestId === 'r-cleanup')).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
  });

  test('in a cleanup, a secret an earlier attempt deleted and finished answers AccessDenied (no tags left) on the retry: counted as finished, no alert (twenty-fifth adversarial review, F3)', async () => {
    process.env.TEARDOWN_TURNS_AT_ONCE = '1';
    const arns = [t.stack.adopt(await rotatedAdminSecret('first'), 'First'), t.stack.adopt(await rotatedAdminSecret('second'), 'Second')];
    const tokens = arns.flatMap(tokensOf);
    for (const id of ['First', 'Second']) t.stack.removeFromTemplate(id);
    t.stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    t.stack.startedAt = new Date();
    t.stack.teardown('teardown-2');
    for (const arn of arns) {
      for (let i = 0; i < 3; i++) h.sm.failNext('DescribeSecret', awsError('AccessDeniedException', 'not authorized', 'client', 400), (x) => x.SecretId === arn && !h.sm.secrets.has(arn));
    }
    const cleanup = { ...deleteRequest(arns, 'r-cleanup'), PhysicalResourceId: 'teardown-1' };
    const deletes = h.astra.count('DELETE');
    // Out of time once the first secret's two tokens are revoked.
    const clock = timeRunsOut(() => h.astra.count('DELETE') >= deletes + 2);
    await expect(handler(cleanup, context())).rejects.toThrow(/Lambda's retry of the request continues/);
    clock.mockRestore();
    expect(tokens.filter((c) => h.astra.isLive(c)).length).toBeGreaterThan(0);
    await handler(cleanup, context());
    expect(tokens.filter((c) => h.astra.isLive(c))).toEqual([]);
    expect(h.lines().filter((l) => l.alert === 'TokensLeftLiveOnDeletion')).toEqual([]);
    expect(cfn).toEqual([expect.objectContaining({ Status: 'SUCCESS', Reason: expect.stringMatching(/2 of 2 secrets deleted \(1 by an earlier attempt\), 1 with every token revoked/) })]);
  });

  test('in a cleanup a deleted secret that Secrets Manager answers AccessDenied for (no tags left) is revoked from the escrow on the retry (second adversarial review)', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret('removed'), 'Removed');
    const tokens = tokensOf(arn);
    t.stack.removeFromTemplate('Removed');
    t.stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    t.stack.startedAt = new Date();
    t.stack.teardown('teardown-2');
    const afterDelete = (input: { SecretId: string }) => input.SecretId === arn && h.sm.count('DeleteSecret') > 0;
    // IAM's tag condition finds no tags on a secret that is gone: AccessDenied, not NotFound, from then on.
    for (let i = 0; i < 3; i++) h.sm.failNext('DescribeSecret', awsError('AccessDeniedException', 'not authorized', 'client', 400), afterDelete);
    const cleanup = { ...deleteRequest([arn], 'r-cleanup'), PhysicalResourceId: 'teardown-1' };
    const clock = timeRunsOut(() => h.sm.count('DeleteSecret') > 0);
    await expect(handler(cleanup, context())).rejects.toThrow(/Lambda's retry of the request continues/);
    clock.mockRestore();
    for (const c of tokens) expect(h.astra.isLive(c)).toBe(true);
    await handler(cleanup, context());
    for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
    expect(cfn).toEqual([expect.objectContaining({ Status: 'SUCCESS', Reason: expect.stringMatching(/1 of 1 secrets deleted, 1 with every token revoked/) })]);
  });

  test('in a cleanup, a refused secret beside a deleted one whose revocations failed: the escrow keeps the deleted one\'s entry, for a later invocation, and not the refused one\'s', async () => {
    const refused = t.stack.adopt(await rotatedAdminSecret('refused'), 'Refused');
    const failing = t.stack.adopt(await rotatedAdminSecret('failing'), 'Failing');
    for (const id of ['Refused', 'Failing']) t.stack.removeFromTemplate(id);
    t.stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    t.stack.teardown('teardown-2');
    h.sm.failNext('DeleteSecret', awsError('InvalidRequestException', 'a pending operation', 'client', 400), (i) => i.SecretId === refused);
    h.astra.fail({ method: 'DELETE', path: /^\/v2\/clientIdSecrets\//, status: 403, times: 20 });
    const { answer } = await send('Delete', [refused, failing], { physicalId: 'teardown-1' });
    expect(answer).toMatchObject({ Status: 'SUCCESS' });
    expect(escrowed()).toEqual([failing]);
  });

  test('a teardown the update removed with its function: confirmed while CloudFormation lists it, and its secrets\' tokens are revoked first (no escrow)', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret('removed'), 'Removed');
    const token = h.sm.valueAt(arn, 'AWSCURRENT').clientID;
    t.stack.removeFromTemplate('Removed');
    delete t.stack.template.Resources[TEARDOWN_ID];
    t.stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    t.stack.startedAt = new Date();
    const { answer } = await send('Delete', [arn], { physicalId: 'teardown-1' });
    expect(answer).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/^update-cleanup: 1 of 1 secrets deleted/) });
    expect(h.lines().find((l) => l.level === 'WARN' && l.secretArn === arn)!.outcome).toMatch(/declares no escrow/);
    expect(h.astra.isLive(token)).toBe(false);
  });

  describe('forged Deletes beside a real operation (fourth adversarial review): no entry of the real request is lost', () => {
    const forgedUrl = 'https://example.com/forged';
    /** The real request deletes its secret and runs out of time right after, leaving it to Lambda's retry. */
    const realRunsOutAfterDeleting = async (real: Record<string, unknown>) => {
      const clock = timeRunsOut(() => h.sm.count('DeleteSecret') > 0);
      await expect(handler(real, context())).rejects.toThrow(/Lambda's retry of the request continues/);
      clock.mockRestore();
    };

    test.each(['UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS'])(
      'in %s, a forged Delete with another physical id, listing nothing, leaves the real request\'s entry: its retry revokes the tokens', async (phase) => {
        const removed = t.stack.adopt(await rotatedAdminSecret('removed'), 'Removed');
        const tokens = tokensOf(removed);
        t.stack.removeFromTemplate('Removed');
        t.stack.status = phase;
        t.stack.startedAt = new Date();
        t.stack.teardown('teardown-2');
        // In a rollback's cleanup: added by the failed update, so created during the operation.
        if (phase.startsWith('UPDATE_ROLLBACK')) h.sm.secrets.get(removed)!.createdDate = new Date(Date.now() + 60_000);
        const real = deleteRequest([removed], 'r-cleanup');
        await realRunsOutAfterDeleting(real);
        await handler({ ...deleteRequest([], 'r-forged'), PhysicalResourceId: 'anything-at-all', ResponseURL: forgedUrl }, context());
        expect(escrowed()).toEqual([removed]);
        await handler(real, context());
        for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
        expect(cfn.filter((a) => a.RequestId === 'r-cleanup')).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
      });

    test('in a stack deletion, an invocation that read the escrow before the real one wrote it keeps the real one\'s entry when it answers', async () => {
      const x = t.stack.adopt(await rotatedAdminSecret('x'), 'X');
      const tokens = tokensOf(x);
      t.stack.startedAt = new Date();
      // The forged invocation starts first; its DescribeSecret of x waits until the real one has deleted x.
      let release!: () => void;
      const gate = new Promise<void>((resolve) => { release = resolve; });
      let reachedGate!: () => void;
      const atGate = new Promise<void>((resolve) => { reachedGate = resolve; });
      let held = false;
      const sm = h.sm as any;
      h.sm.mock.on(DescribeSecretCommand).callsFake(async (input: { SecretId: string }) => {
        if (!held && input.SecretId === x) {
          held = true;
          reachedGate();
          await gate;
        }
        return sm.call('DescribeSecret', input, () => sm.describe(input));
      });
      const forged = handler({ ...deleteRequest([], 'r-forged'), ResponseURL: forgedUrl }, context());
      await atGate;
      const real = deleteRequest([x], 'r-real');
      await realRunsOutAfterDeleting(real);
      release();
      await forged;
      expect(escrowed()).toEqual([x]);
      await handler(real, context());
      for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
    });

    test('in an update\'s cleanup, a forged Delete naming a logical id CloudFormation does not know is refused: it revokes nothing first', async () => {
      const removed = t.stack.adopt(await rotatedAdminSecret('removed'), 'Removed');
      const current = h.sm.valueAt(removed, 'AWSCURRENT').clientID;
      t.stack.removeFromTemplate('Removed');
      t.stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
      t.stack.startedAt = new Date();
      t.stack.teardown('teardown-2');
      await handler({ ...deleteRequest([removed], 'r-forged'), LogicalResourceId: 'NoSuchResource', PhysicalResourceId: 'x', ResponseURL: forgedUrl }, context());
      expect(h.lines().filter((l) => l.alert === ALERT_NAMES.TEARDOWN_NOT_CONFIRMED)).toEqual([expect.objectContaining({ message: expect.stringMatching(/does not declare NoSuchResource/) })]);
      // CloudFormation's own Delete: Secrets Manager refuses the deletion, and the secret leaves the stack whole.
      h.sm.failNext('DeleteSecret', awsError('InvalidRequestException', 'a pending operation', 'client', 400), (i) => i.SecretId === removed);
      await handler(deleteRequest([removed], 'r-real'), context());
      expect(h.sm.secrets.has(removed)).toBe(true);
      expect(h.astra.isLive(current)).toBe(true);
    });

    test('a stack deletion whose last invocation never answered leaves its entry; the retried deletion, another operation, revokes the tokens from it', async () => {
      const x = t.stack.adopt(await rotatedAdminSecret('x'), 'X');
      const tokens = tokensOf(x);
      t.stack.startedAt = new Date();
      await realRunsOutAfterDeleting(deleteRequest([x], 'r-first'));
      // No answer reached CloudFormation: DELETE_FAILED at the ServiceTimeout, and the deletion retried with a new DeletionTime.
      t.stack.startedAt = new Date(Date.now() + 20 * 60_000);
      const realNow = Date.now;
      const later = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 20 * 60_000);
      await handler(deleteRequest([x], 'r-second'), context());
      later.mockRestore();
      for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
      expect(cfn).toEqual([expect.objectContaining({ Status: 'SUCCESS', Reason: expect.stringMatching(/1 of 1 secrets deleted, 1 with every token revoked/) })]);
      expect(escrowed()).toEqual([]);
    });

    test('in a stack deletion, a forged Delete whose revocations fail gives up with an alert, and leaves the entry: the real retry revokes the tokens', async () => {
      const x = t.stack.adopt(await rotatedAdminSecret('x'), 'X');
      const tokens = tokensOf(x);
      t.stack.startedAt = new Date();
      const real = deleteRequest([x], 'r-real');
      await realRunsOutAfterDeleting(real);
      h.astra.fail({ method: 'DELETE', path: /^\/v2\/clientIdSecrets\//, status: 503, times: 100 });
      await handler({ ...deleteRequest([], 'r-forged'), ResponseURL: forgedUrl }, context());
      h.astra.faults = [];
      expect(h.lines().filter((l) => l.alert === 'TokensLeftLiveOnDeletion')).toEqual([expect.objectContaining({ secretArn: x })]);
      expect(escrowed()).toEqual([x]);
      await handler(real, context());
      for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
    });
  });

  describe('a failure of a read is no more final than a failed revocation (fifth adversarial review)', () => {

    test('a forged Delete during a short outage of Astra\'s token list keeps the real request\'s entry: the real retry revokes the tokens', async () => {
      const x = t.stack.adopt(await rotatedAdminSecret('x'), 'X');
      const tokens = tokensOf(x);
      t.stack.startedAt = new Date();
      const real = deleteRequest([x], 'r-real');
      const clock = timeRunsOut(() => h.sm.count('DeleteSecret') > 0);
      await expect(handler(real, context())).rejects.toThrow(/Lambda's retry of the request continues/);
      clock.mockRestore();
      h.astra.fail({ method: 'GET', path: /^\/v2\/clientIdSecrets$/, status: 503, times: 100 });
      await handler({ ...deleteRequest([], 'r-forged'), ResponseURL: 'https://example.com/forged' }, context());
      h.astra.faults = [];
      expect(escrowed()).toEqual([x]);
      await handler(real, context());
      for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
    });

    test('in a cleanup, one failed read of the admin secret: the second round reads it again and revokes the tokens', async () => {
      const x = t.stack.adopt(await rotatedAdminSecret('x'), 'X');
      const tokens = tokensOf(x);
      const admin = h.sm.valueAt(x, 'AWSCURRENT').rootarn as string;
      t.stack.removeFromTemplate('X');
      t.stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
      t.stack.startedAt = new Date();
      t.stack.teardown('teardown-2');
      h.sm.failNext('GetSecretValue', awsError('InternalServiceError', 'injected'), (i) => i.SecretId === admin && h.sm.count('DeleteSecret') > 0);
      const { answer, alerts } = await send('Delete', [x]);
      expectFinished({ answer, alerts }, tokens);
    });

    test.each([
      ['one failed read of the mid secret (the leaf\'s admin)', (mid: string) =>
        h.sm.failNext('GetSecretValue', awsError('InternalServiceError', 'injected'), (i) => i.SecretId === mid && h.sm.count('DeleteSecret') > 0)],
      ['a token list that fails every attempt of one call', () => h.astra.fail({ method: 'GET', path: /^\/v2\/clientIdSecrets$/, status: 503, times: 6 })],
    ])('root -> mid -> leaf, %s: the admins wait for the second round, which revokes the leaf first', async (_what, breakIt) => {
      const { root, mid, leaf, tokens } = await chainOf();
      t.stack.startedAt = new Date();
      breakIt(mid);
      await handler(deleteRequest([root, mid, leaf], 'r-real'), context());
      for (const c of Object.values(tokens)) expect(h.astra.isLive(c)).toBe(false);
      const deletes = h.astra.requests.filter((r) => r.method === 'DELETE').map((r) => r.path.split('/').pop());
      expect(deletes.indexOf(tokens.leaf)).toBeLessThan(deletes.indexOf(tokens.mid));
      expect(deletes.indexOf(tokens.mid)).toBeLessThan(deletes.indexOf(tokens.root));
    });
  });

  test('a root -> mid -> leaf admin chain leaving together: the leaf\'s tokens go first, then the mid\'s, then the root\'s own', async () => {
    const root = h.sm.create('root', JSON.stringify({ astraKey: h.admin.token, clientID: h.admin.clientId, clientSecret: h.admin.secret, roleID: ADMIN_ROLE, engine: 'AstraDB' }),
      { tags: h.binding(ADMIN_ROLE) });
    const mid = h.sm.create('mid', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(ADMIN_ROLE, root) });
    const leaf = h.sm.create('leaf', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(APP_ROLE, mid) });
    for (const arn of [mid, leaf]) await h.rotate(arn);
    t.stack.adopt(root, 'Root');
    t.stack.adopt(mid, 'Mid');
    t.stack.adopt(leaf, 'Leaf');
    const tokens = { root: h.admin.clientId, mid: h.sm.valueAt(mid, 'AWSCURRENT').clientID, leaf: h.sm.valueAt(leaf, 'AWSCURRENT').clientID };
    const { alerts } = await send('Delete', [root, mid, leaf]);
    expect(alerts).toEqual([]);
    const deletes = h.astra.requests.filter((r) => r.method === 'DELETE').map((r) => r.path.split('/').pop());
    expect(deletes).toEqual([tokens.leaf, tokens.mid, tokens.root]);
    expect(h.astra.tokens.size).toBe(0);
  });

  test.each([
    ['no role tag', (arn: string) => { h.sm.secrets.get(arn)!.tags = h.sm.secrets.get(arn)!.tags.filter((tag) => tag.Key !== 'astra-token-secret:role-id'); }, /no tag astra-token-secret:role-id/],
    ['an unreadable admin secret', (arn: string) => { h.sm.secrets.get(arn)!.tags.find((tag) => tag.Key === 'astra-token-secret:admin-secret-arn')!.Value = `${arn}x`; },
      /admin secret .* could not be read|has no AWSCURRENT/],
    ['a token list Astra refuses', () => h.astra.fail({ method: 'GET', path: /^\/v2\/clientIdSecrets$/, status: 403, times: 10 }), /token list could not be read/],
    ['revocations Astra refuses', () => h.astra.fail({ method: 'DELETE', path: /^\/v2\/clientIdSecrets\//, status: 403, times: 10 }), /some revocations failed/],
    ['a value that cannot be read, in either round', (arn: string) => {
      for (let round = 0; round < 2; round++) h.sm.failNext('GetSecretValue', awsError('InternalServiceError', 'injected'), (i) => i.SecretId === arn);
    }, /values could not be read .*InternalServiceError/],
  ])('%s: SUCCESS all the same, and an ERROR alert line saying what is left', async (_what, breakIt, why) => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    breakIt(arn);
    const { answer, alerts } = await send('Delete', [arn]);
    expect(answer).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/tokens left live for/) });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ level: 'ERROR', alert: 'TokensLeftLiveOnDeletion', secretArn: arn, message: expect.stringMatching(why) });
  });

  test('a secret that is gone is skipped; one the role may not describe, or whose description fails, is reported left live', async () => {
    const gone = arnOf('gone');
    const denied = t.stack.adopt(await rotatedAdminSecret('denied'), 'Denied');
    const failing = t.stack.adopt(await rotatedAdminSecret('failing'), 'Failing');
    h.sm.failNext('DescribeSecret', awsError('AccessDeniedException', 'not allowed', 'client', 403), (i) => i.SecretId === denied);
    for (let round = 0; round < 2; round++) h.sm.failNext('DescribeSecret', awsError('InternalServiceError', 'injected'), (i) => i.SecretId === failing);
    t.stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    t.stack.teardown('teardown-2');
    const { alerts } = await send('Delete', [gone, denied, failing], { physicalId: 'teardown-1' });
    expect(h.lines().find((l) => l.secretArn === gone)!.outcome).toBe('skipped: the secret no longer exists');
    expect(alerts.map((a) => [a.secretArn, a.message])).toEqual([
      [denied, expect.stringMatching(/could not be described \(AccessDeniedException/)],
      [failing, expect.stringMatching(/could not be described .*InternalServiceError/)],
    ]);
  });

  describe('GIVEN a Secrets Manager read that fails once while the teardown plans', () => {
    test.each([
      ['DescribeSecret', 'DescribeSecret'],
      ['GetSecretValue', 'GetSecretValue'],
    ] as const)('WHEN %s fails for a self-rotating secret THEN it is planned again before anything is deleted, then deleted and revoked', async (_name, operation) => {
      const [arn] = await t.rotatedTwice(1);
      const tokens = tokensOf(arn);
      h.sm.failNext(operation, awsError('InternalServiceError', 'injected'), (i) => i.SecretId === arn);
      expectFinished(await send('Delete', [arn]), tokens);
      expect(h.sm.secrets.has(arn)).toBe(false);
    });

    test('WHEN the middle of a chain fails to describe THEN it is read again before anything is deleted: leaf, mid, root revoked in that order', async () => {
      const { root, mid, leaf, tokens } = await chainOf();
      h.sm.failNext('DescribeSecret', awsError('InternalServiceError', 'injected'), (i) => i.SecretId === mid);
      const { alerts } = await send('Delete', [root, mid, leaf]);
      expect(alerts).toEqual([]);
      const deletes = h.astra.requests.filter((r) => r.method === 'DELETE').map((r) => r.path.split('/').pop());
      expect(deletes).toEqual([tokens.leaf, tokens.mid, tokens.root]);
    });

    test('WHEN a leaf\'s value fails to read THEN it is read again before anything is deleted: the leaf\'s tokens go before the admin\'s', async () => {
      const { root, mid, leaf, tokens } = await chainOf();
      h.sm.failNext('GetSecretValue', awsError('InternalServiceError', 'injected'), (i) => i.SecretId === leaf && i.VersionStage === 'AWSCURRENT');
      const { answer, alerts } = await send('Delete', [root, mid, leaf]);
      expect({ status: answer.Status, alerts }).toEqual({ status: 'SUCCESS', alerts: [] });
      const deletes = h.astra.requests.filter((r) => r.method === 'DELETE').map((r) => r.path.split('/').pop());
      expect(deletes).toEqual([tokens.leaf, tokens.mid, tokens.root]);
      expect(h.astra.tokens.size).toBe(0);
    });
  });

  test('a self-rotating secret that never held a token has nothing to revoke; one whose token no longer authenticates is reported', async () => {
    const empty = t.stack.adopt(h.sm.create('empty', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(ADMIN_ROLE) }), 'Empty');
    const { arn: dead, initial } = h.selfSecret();
    t.stack.adopt(dead, 'Dead');
    h.astra.tokens.delete(initial.clientId);
    const { alerts } = await send('Delete', [empty, dead]);
    expect(h.lines().find((l) => l.secretArn === empty && l.step === 'teardown')!.outcome).toBe('nothing to revoke: the secret never held a token');
    expect(alerts).toEqual([expect.objectContaining({ secretArn: dead, message: expect.stringMatching(/no longer authenticates/) })]);
  });

  test('out of time: the secrets not reached are reported left live', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    const { alerts } = await send('Delete', [arn], { remainingMs: 20_100 }); // 100 ms past the 20 s margin
    expect(alerts[0].message).toMatch(/ran out of time/);
  });

  test('out of time while the operation is young: no answer yet, and Lambda\'s retry of the request finishes the work', async () => {
    process.env.TEARDOWN_TURNS_AT_ONCE = '1';
    const first = t.stack.adopt(await rotatedAdminSecret('first'), 'First');
    const second = t.stack.adopt(await rotatedAdminSecret('second'), 'Second');
    t.stack.startedAt = new Date();
    const deletes = h.astra.count('DELETE');
    // Time for one secret only: once its two tokens are revoked, the clock jumps past the invocation's margin.
    const realNow = Date.now;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + (h.astra.count('DELETE') >= deletes + 2 ? 101_000 : 0));
    const short = context();
    const requestEvent = {
      RequestType: 'Delete',
      ResponseURL: respondTo(),
      StackId: STACK_ID,
      RequestId: 'r-long',
      LogicalResourceId: TEARDOWN_ID,
      PhysicalResourceId: 'teardown-1',
      ResourceProperties: { Secrets: [{ Arn: first }, { Arn: second }] },
    };
    await expect(handler(requestEvent, short)).rejects.toThrow(/not reached in this invocation; Lambda's retry of the request continues/);
    clock.mockRestore();
    expect(cfn).toEqual([]);
    expect(h.astra.count('DELETE')).toBeGreaterThan(deletes);
    await handler(requestEvent, context());
    expect(cfn).toEqual([expect.objectContaining({ Status: 'SUCCESS', Reason: expect.stringMatching(/2 of 2 secrets deleted \(1 by an earlier attempt\), 1 with every token revoked/) })]);
    expect([...h.astra.tokens.keys()]).toEqual([h.admin.clientId]);
  });

  test('out of time long after the operation began: the answer comes now, with the secrets not reached reported', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    t.stack.startedAt = new Date(Date.now() - 11 * 60_000);
    const { answer, alerts } = await send('Delete', [arn], { remainingMs: 20_100 });
    expect(answer.Status).toBe('SUCCESS');
    expect(alerts[0].message).toMatch(/ran out of time/);
  });

  test('self-rotating secrets share one token list; a secret whose last token an earlier attempt revoked has nothing left', async () => {
    const a = h.selfSecret();
    t.stack.adopt(a.arn, 'A');
    await h.rotate(a.arn);
    const b = h.sm.create('self-b', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(ADMIN_ROLE) });
    const bToken = h.astra.issue([ADMIN_ROLE], 'b');
    h.sm.secrets.get(b)!.versions.forEach((v) => { v.value = JSON.stringify({ astraKey: bToken.token, clientID: bToken.clientId, engine: 'AstraDB' }); });
    t.stack.adopt(b, 'B');
    h.astra.tokens.delete(bToken.clientId); // an earlier attempt revoked b's last token
    const lists = h.astra.count('GET', /^\/v2\/clientIdSecrets$/);
    const { alerts } = await send('Delete', [a.arn, b]);
    // a's list, and again after the deletions (a rotation may have stored a token since); b's token answers 401, a's list shows nothing of b.
    expect(h.astra.count('GET', /^\/v2\/clientIdSecrets$/) - lists).toBe(3);
    expect(alerts).toEqual([]);
    expect(h.lines().find((l) => l.secretArn === b && l.step === 'teardown')!.outcome).toBe('revoked: nothing of the secret is live any more');
  });

  test('CloudFormation\'s state that cannot be read: nothing revoked, each listed secret an alert, SUCCESS', async () => {
    const arn = t.stack.adopt(await rotatedAdminSecret(), 'Secret');
    t.stack.mock.rejects(awsError('Throttling', 'Rate exceeded'));
    const before = h.astra.tokens.size;
    const { answer, alerts } = await send('Delete', [arn]);
    expect(h.astra.tokens.size).toBe(before);
    expect(answer.Status).toBe('SUCCESS');
    expect(alerts).toEqual([expect.objectContaining({ alert: 'TokensLeftLiveOnDeletion', secretArn: arn, message: expect.stringMatching(/could not be read .*Rate exceeded/) })]);
  });

  test('a broken configuration never blocks the deletion: SUCCESS, with the reason', async () => {
    process.env.ASTRA_API_URL = 'http://api.astra.datastax.com';
    const { answer, alerts } = await send('Delete', [arnOf('x')]);
    expect(answer).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/teardown failed: .*ASTRA_API_URL .* must use https/) });
    expect(alerts).toHaveLength(1);
  });

  test('an answer CloudFormation\'s URL refuses three times is logged: CloudFormation would otherwise wait in silence', async () => {
    const refusing = createServer((_req, res) => res.writeHead(403).end('expired'));
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    try {
      await send('Create', [], { responseUrl: `http://127.0.0.1:${(refusing.address() as AddressInfo).port}/r` });
    } finally {
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
    }
    expect(h.lines().find((l) => l.outcome === 'not answered')!.error).toMatch(/failed 3 times: HTTP 403/);
  });

  test('an answer that cannot be sent at all is logged with the reason', async () => {
    await send('Create', [], { responseUrl: 'http://127.0.0.1:9/closed' });
    expect(h.lines().find((l) => l.outcome === 'not answered')!.error).toMatch(/failed 3 times: .*fetch failed/);
  });

  test('a ResponseURL that is not CloudFormation\'s is never called', async () => {
    await send('Create', [], { responseUrl: 'https://example.com/response' });
    expect(cfn).toEqual([]);
    expect(h.lines().find((l) => l.outcome === 'not answered')!.error).toMatch(/not a CloudFormation response URL/);
  });

});
