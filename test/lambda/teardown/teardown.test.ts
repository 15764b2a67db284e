import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { DeleteSecretCommand, DescribeSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { handler } from '../../../lambda';
import type { StackState } from '../../../lambda/clients/cloudformation';
import { readConfig } from '../../../lambda/clients/config';
import * as timeBudget from '../../../lambda/clients/time-budget';
import { TimeBudget } from '../../../lambda/clients/time-budget';
import { markedAsSecrets } from '../../../lambda/rotation/revocation-rule';
import { isCloudFormationResponseUrl } from '../../../lambda/teardown/cloudformation-answer';
import { confirmDeletion, secretFate } from '../../../lambda/teardown/end-of-life';
import { continuationWindowMs, CustomResourceEvent, declaredSecretArns, inTurns, isCustomResourceEvent, leavesFirst, listedSecretArns } from '../../../lambda/teardown/teardown';
import { ALERT_NAMES } from '../../../src/shared/alert-names';
import { ADMIN_ROLE, APP_ROLE } from '../support/fake-astra';
import { FakeStack, STACK_ID, TEARDOWN_ID } from '../support/fake-cloudformation';
import { awsError, VERSIONS_KEPT } from '../support/fake-secrets-manager';
import { Harness, POLICY_TAG } from '../support/harness';

const arnOf = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
const request = (physicalId = 'teardown-1') => ({ StackId: STACK_ID, LogicalResourceId: TEARDOWN_ID, PhysicalResourceId: physicalId });
const OPERATION_START = new Date('2026-12-01T00:00:00Z');
const BEFORE = new Date('2026-11-01T00:00:00Z');
/** An org other than the fake Astra's: what Astra names for a token of another org, in the tests that simulate one. */
const FOREIGN_ORG = '99999999-8888-4777-8666-555555555555';
/** The alert of a secret whose revocation Astra did not let the function confirm: no list of its org, as Astra named it. */
const UNCONFIRMED = /Astra did not name the org of the token list|no token list of its org/;
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

describe('continuationWindowMs: how long a request may leave work to Lambda\'s retry, from the two clocks alone', () => {
  const config = readConfig({});
  const windowFor = (invocationMs: number) =>
    continuationWindowMs({ config, budget: TimeBudget.of({ getRemainingTimeInMillis: () => invocationMs }, config.timeMarginMs, 0) });

  test('GIVEN the construct\'s 3-minute function and the default settings THEN 6 minutes 38 seconds', () => {
    expect(windowFor(180_000)).toBe(398_000);
  });

  test.each([60_000, 180_000, 900_000])('GIVEN a %i ms function THEN the last of Lambda\'s invocations starts past the window: it answers', (invocationMs) => {
    // Two invocations that left work each used all but two calls of their budget; Lambda waited about 1, then 2 minutes.
    const spent = invocationMs - config.timeMarginMs - 2 * config.httpTimeoutMs - 1_000;
    const thirdStartsAfterOperationBegan = 2 * spent + 3 * 60_000;
    expect(windowFor(invocationMs)).toBeLessThanOrEqual(thirdStartsAfterOperationBegan - 60_000);
    expect(windowFor(invocationMs)).toBeLessThanOrEqual(8 * 60_000);
  });
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
  const h = new Harness();
  let stack: FakeStack;
  const cfn: Array<Record<string, any>> = [];
  let responses: Server;
  beforeAll(async () => {
    await h.start();
    responses = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        cfn.push(JSON.parse(Buffer.concat(chunks).toString()));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => responses.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await h.stop();
    await new Promise<void>((resolve) => responses.close(() => resolve()));
  });
  beforeEach(() => {
    h.setUp();
    stack = new FakeStack(h.sm);
    process.env.STACK_ID = STACK_ID;
    // A loopback Secrets Manager endpoint: the only setting in which the function answers a loopback ResponseURL.
    process.env.SECRETS_MANAGER_ENDPOINT = 'http://127.0.0.1:9';
    cfn.length = 0;
  });
  afterEach(() => {
    stack.restore();
    h.assertNoSecretMaterial();
    h.tearDown();
  });

  const context = (remainingMs = 120_000) => ({ invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:rotation:$LATEST', getRemainingTimeInMillis: () => remainingMs });
  /** The operation an escrow entry records: what CloudFormation's state says of it, never the request. */
  const operationOf = (status = stack.status, startedAt = stack.startedAt!) => `${status} ${startedAt.toISOString()} ${TEARDOWN_ID}`;
  const escrowValue = (entries: Array<{ operation: string; [key: string]: unknown }>) => JSON.stringify({ format: 'astra-token-teardown-escrow/1', entries });
  const escrowed = () => h.sm.valueAt(stack.escrowArn, 'AWSCURRENT').entries.map((e: { arn: string }) => e.arn);
  /** The escrow's entries for secrets already deleted (a kill inside a batch leaves entries of secrets still there). */
  const escrowedGone = () => escrowed().filter((arn: string) => !h.sm.secrets.has(arn));
  /** The clientIds of a secret's AWSCURRENT and AWSPREVIOUS tokens. */
  const tokensOf = (arn: string): string[] => [h.sm.valueAt(arn, 'AWSCURRENT').clientID, h.sm.valueAt(arn, 'AWSPREVIOUS').clientID];
  /** A Delete that finished: SUCCESS, every one of `count` secrets deleted and revoked, no alert, no token live, the escrow empty. */
  const expectFinished = ({ answer, alerts }: { answer: Record<string, unknown>; alerts: unknown[] }, tokens: string[], count = 1) => {
    expect(answer).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(new RegExp(`${count} of ${count} secrets deleted, ${count} with every token revoked`)) });
    expect(alerts).toEqual([]);
    for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
    expect(escrowed()).toEqual([]);
  };
  /** Once `when` holds, the clock jumps past the invocation's margin (context()'s 120 s less 20): its time is up there. */
  const timeRunsOut = (when: () => boolean) => {
    const realNow = Date.now;
    return jest.spyOn(Date, 'now').mockImplementation(() => realNow() + (when() ? 101_000 : 0));
  };
  const respondTo = () => `http://127.0.0.1:${(responses.address() as AddressInfo).port}/response`;
  const send = async (requestType: CustomResourceEvent['RequestType'], arns: string[], options: { responseUrl?: string; remainingMs?: number; physicalId?: string } = {}) => {
    await handler({
      RequestType: requestType,
      ResponseURL: options.responseUrl ?? respondTo(),
      StackId: STACK_ID,
      RequestId: `r${cfn.length + 1}`,
      LogicalResourceId: TEARDOWN_ID,
      ...requestType === 'Create' ? {} : { PhysicalResourceId: options.physicalId ?? 'teardown-1' },
      ResourceProperties: { Secrets: arns.map((Arn) => ({ Arn })) },
    }, context(options.remainingMs));
    return { answer: cfn[cfn.length - 1], alerts: h.lines().filter((l) => typeof l.alert === 'string') };
  };
  const rotatedAdminSecret = async (name = 'app-token') => {
    const { arn } = h.adminSecret();
    if (name !== 'app-token') {
      h.sm.secrets.set(arnOf(name), { ...h.sm.secrets.get(arn)!, arn: arnOf(name), name });
      h.sm.secrets.delete(arn);
    }
    await h.rotate(arnOf(name));
    await h.rotate(arnOf(name));
    return arnOf(name);
  };

  test('Create and Update revoke nothing and answer a new physical id each time (the old one is deleted in the cleanup)', async () => {
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
    stack.status = 'UPDATE_IN_PROGRESS';
    const before = h.astra.tokens.size;
    const created = await send('Create', [arn]);
    const updated = await send('Update', [arn]);
    expect(created.answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `${TEARDOWN_ID}-r1` });
    expect(updated.answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `${TEARDOWN_ID}-r2` });
    expect(h.astra.tokens.size).toBe(before);
    expect(stack.calls).toEqual([]);
  });

  test('a stack deletion: an admin-minted secret\'s tokens (AWSCURRENT\'s, AWSPREVIOUS\'s, an abandoned rotation\'s) are revoked; SUCCESS', async () => {
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
    await h.step('createSecret', arn, h.sm.startRotation(arn));
    h.sm.removeStage(arn, 'AWSPENDING');
    const { answer, alerts } = await send('Delete', [arn]);
    expect(answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'teardown-1', Reason: expect.stringMatching(/^stack-deletion: 1 of 1 secrets deleted/) });
    expect(alerts).toEqual([]);
    expect([...h.astra.tokens.keys()]).toEqual([h.admin.clientId]);
    expect(stack.calls).toEqual([`DescribeStacks ${STACK_ID}`, 'ListStackResources', 'GetTemplate']);
  });

  test('a self-rotating secret: its other tokens first, then its last token revokes itself', async () => {
    const { arn } = h.selfSecret();
    stack.adopt(arn, 'Secret');
    await h.rotate(arn);
    const last = h.sm.valueAt(arn, 'AWSCURRENT').clientID;
    await send('Delete', [arn]);
    const deletes = h.astra.requests.filter((r) => r.method === 'DELETE');
    expect(deletes[deletes.length - 1]).toMatchObject({ path: `/v2/clientIdSecrets/${last}`, bearerClientId: last });
    expect(h.astra.tokens.size).toBe(1);
  });

  test('a forged Delete while the stack is not deleting anything: nothing revoked, an ERROR alert, and the answer says why', async () => {
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
    stack.status = 'UPDATE_COMPLETE';
    const before = { tokens: h.astra.tokens.size, deletes: h.astra.count('DELETE') };
    const { answer, alerts } = await send('Delete', [arn]);
    expect(h.astra.tokens.size).toBe(before.tokens);
    expect(h.astra.count('DELETE')).toBe(before.deletes);
    expect(answer).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/^nothing revoked: the stack is UPDATE_COMPLETE/) });
    expect(alerts).toEqual([expect.objectContaining({ level: 'ERROR', alert: 'TeardownNotConfirmedByCloudFormation', stackId: STACK_ID })]);
  });

  test('a Delete naming another stack: refused without asking CloudFormation', async () => {
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
    process.env.STACK_ID = STACK_ID.replace('/S/', '/Deployed/');
    const before = h.astra.tokens.size;
    const { alerts } = await send('Delete', [arn]);
    expect(h.astra.tokens.size).toBe(before);
    expect(alerts[0].message).toMatch(/not the function's own stack/);
  });

  test('a secret the template retains, and a secret not of this stack, are not touched; no alert', async () => {
    const retained = stack.adopt(await rotatedAdminSecret('retained'), 'Retained', { DeletionPolicy: 'Retain' });
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
    const removed = stack.adopt(await rotatedAdminSecret('removed'), 'Removed');
    const staying = stack.adopt(await rotatedAdminSecret('staying'), 'Staying');
    const stayingTokens = [...h.astra.tokens.keys()].filter((c) => tokensOf(staying).includes(c));
    stack.removeFromTemplate('Removed');
    stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    stack.teardown('teardown-2');
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
    const earlier = stack.adopt(await rotatedAdminSecret('earlier'), 'Kept');
    const old = stack.adopt(await rotatedAdminSecret('old'), 'Renamed');
    await new Promise((resolve) => setTimeout(resolve, 5));
    stack.startedAt = new Date();
    const successor = h.sm.create('successor', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(APP_ROLE) });
    stack.resources.set('Renamed', { physicalId: successor, type: 'AWS::SecretsManager::Secret' });
    // `earlier` was replaced (and retained) by an operation before this one: its logical id's secret is older.
    h.sm.secrets.get(earlier)!.tags.find((t) => t.Key === 'aws:cloudformation:logical-id')!.Value = 'Renamed';
    stack.resources.set('Kept', { physicalId: h.sm.create('kept-now', '{}'), type: 'AWS::SecretsManager::Secret' });
    h.sm.secrets.get(earlier)!.tags.find((t) => t.Key === 'aws:cloudformation:logical-id')!.Value = 'Kept';
    h.sm.secrets.get(stack.resources.get('Kept')!.physicalId)!.createdDate = new Date(0);
    stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    stack.teardown('teardown-2');
    const liveOfEarlier = h.sm.valueAt(earlier, 'AWSCURRENT').clientID;
    const oldToken = h.sm.valueAt(old, 'AWSCURRENT').clientID;
    const { answer } = await send('Delete', [old, earlier], { physicalId: 'teardown-1' });
    expect(answer.Reason).toMatch(/^update-cleanup: 1 of 2 secrets deleted, 1 with every token revoked/);
    expect(h.astra.isLive(oldToken)).toBe(false);
    expect(h.astra.isLive(liveOfEarlier)).toBe(true);
    expect(h.lines().find((l) => l.step === 'teardown' && l.secretArn === earlier)!.outcome).toMatch(/not replaced by this operation/);
  });

  test('a removed secret last deployed without the DeletionPolicy tag: not revoked, and an ERROR alert says so', async () => {
    const arn = stack.adopt(await rotatedAdminSecret('untagged'), 'Untagged');
    h.sm.secrets.get(arn)!.tags = h.sm.secrets.get(arn)!.tags.filter((t) => t.Key !== 'astra-token-secret:deletion-policy');
    stack.removeFromTemplate('Untagged');
    stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    stack.teardown('teardown-2');
    const before = h.astra.tokens.size;
    const { alerts } = await send('Delete', [arn], { physicalId: 'teardown-1' });
    expect(h.astra.tokens.size).toBe(before);
    expect(alerts).toEqual([expect.objectContaining({ alert: 'TokensLeftLiveOnDeletion', secretArn: arn, message: expect.stringMatching(/carries no astra-token-secret:deletion-policy tag/) })]);
  });

  test('an admin whose token is dead while its secret still has live tokens: reported, naming the admin', async () => {
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
    const other = h.selfSecret();
    stack.adopt(other.arn, 'Other');
    await h.rotate(other.arn);
    h.astra.tokens.delete(h.admin.clientId);
    const { alerts } = await send('Delete', [arn, other.arn]);
    expect(alerts).toEqual([expect.objectContaining({ secretArn: arn, message: expect.stringMatching(/the admin token in .* no longer authenticates, so it cannot revoke/) })]);
  });

  test('a forged Delete during a real cleanup naming a secret an earlier replacement kept, while its logical id is replaced again: left live (second adversarial review)', async () => {
    const earlier = stack.adopt(await rotatedAdminSecret('earlier'), 'Renamed');
    h.sm.secrets.get(earlier)!.tags.push({ Key: 'astra-token-secret:update-replace-policy', Value: 'Retain' });
    const old = stack.adopt(await rotatedAdminSecret('old'), 'Renamed');
    h.sm.secrets.get(old)!.tags.push({ Key: 'astra-token-secret:update-replace-policy', Value: 'Delete' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    stack.startedAt = new Date();
    const successor = h.sm.create('successor', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(APP_ROLE) });
    stack.resources.set('Renamed', { physicalId: successor, type: 'AWS::SecretsManager::Secret' });
    stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    stack.teardown('teardown-2');
    const liveOfEarlier = h.sm.valueAt(earlier, 'AWSCURRENT').clientID;
    const oldToken = h.sm.valueAt(old, 'AWSCURRENT').clientID;
    const { alerts } = await send('Delete', [earlier, old], { physicalId: 'forged-former-id' });
    expect(h.astra.isLive(liveOfEarlier)).toBe(true);
    expect(h.sm.secrets.has(earlier)).toBe(true);
    expect(h.astra.isLive(oldToken)).toBe(false);
    expect(alerts).toEqual([expect.objectContaining({ secretArn: earlier, message: expect.stringMatching(/kept it on replacement/) })]);
  });

  test('the secret goes first, then its tokens: DeleteSecret precedes every revocation, and the escrow is empty afterwards', async () => {
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
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
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
    stack.startedAt = new Date();
    const tokens = tokensOf(arn);
    h.sm.failNextAfterCommit('DeleteSecret');
    h.sm.failNext('DescribeSecret', awsError('InternalServiceError', 'injected'), (i) => i.SecretId === arn && h.sm.count('DeleteSecret') > 0);
    const { answer, alerts } = await send('Delete', [arn]);
    expectFinished({ answer, alerts }, tokens);
  });

  test('killed between the deletion and the revocation (out of time while the operation is young): the escrow carries the tokens to the retry, which revokes them', async () => {
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
    stack.startedAt = new Date();
    const tokens = tokensOf(arn);
    const clock = timeRunsOut(() => h.sm.count('DeleteSecret') > 0);
    const requestEvent = deleteRequest([arn], 'r-killed');
    await expect(handler(requestEvent, context())).rejects.toThrow(/Lambda's retry of the request continues/);
    clock.mockRestore();
    expect(h.sm.secrets.has(arn)).toBe(false);
    for (const c of tokens) expect(h.astra.isLive(c)).toBe(true);
    expect(h.sm.valueAt(stack.escrowArn, 'AWSCURRENT').entries.map((e: { arn: string }) => e.arn)).toEqual([arn]);
    expect(JSON.stringify(h.sm.valueAt(stack.escrowArn, 'AWSCURRENT'))).not.toMatch(/clientSecret/);
    await handler(requestEvent, context());
    for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
    expect(cfn).toEqual([expect.objectContaining({ Status: 'SUCCESS', Reason: expect.stringMatching(/1 of 1 secrets deleted, 1 with every token revoked/) })]);
    expect(h.sm.valueAt(stack.escrowArn, 'AWSCURRENT').entries).toEqual([]);
  });

  test('a secret Secrets Manager will not delete keeps its live tokens, so does the admin secret it needs; FAILED, and the retry finishes', async () => {
    const root = h.sm.create('root', JSON.stringify({ astraKey: h.admin.token, clientID: h.admin.clientId, clientSecret: h.admin.secret, roleID: ADMIN_ROLE, engine: 'AstraDB' }),
      { tags: h.binding(ADMIN_ROLE) });
    const mid = h.sm.create('mid', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(ADMIN_ROLE, root) });
    const leaf = h.sm.create('leaf', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(APP_ROLE, mid) });
    const other = stack.adopt(await rotatedAdminSecret('other'), 'Other');
    for (const arn of [mid, leaf]) await h.rotate(arn);
    for (const [arn, id] of [[root, 'Root'], [mid, 'Mid'], [leaf, 'Leaf']]) stack.adopt(arn, id);
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
    ['the stack declares no escrow (a template from before it)', () => stack.withoutEscrow(), /declares no escrow/],
    ['the escrow cannot be written', () => h.sm.failNext('PutSecretValue', awsError('AccessDeniedException', 'not authorized to perform: PutSecretValue', 'client', 400),
      (i) => i.SecretId === stack.escrowArn), /escrow could not be written/],
  ])('%s: its tokens are revoked before CloudFormation deletes it, as before the escrow', async (_what, arrange, why) => {
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
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
    const arns = [stack.adopt(await rotatedAdminSecret('one'), 'One'), stack.adopt(await rotatedAdminSecret('two'), 'Two')];
    for (let i = 0; i < 2; i++) {
      h.sm.failNext('PutSecretValue', awsError('AccessDeniedException', 'not authorized to perform: PutSecretValue', 'client', 400), (x) => x.SecretId === stack.escrowArn);
    }
    await send('Delete', arns);
    expect(h.lines().filter((l) => l.level === 'ERROR' && /escrow .* could not be written/.test(String(l.outcome)))).toHaveLength(1);
    expect(h.lines().filter((l) => l.level === 'WARN' && /the escrow could not be written/.test(String(l.outcome)))).toHaveLength(2);
  });

  test('an escrow other invocations keep writing (every try of a write overtaken): the secret is not deleted yet, and the second round deletes it and revokes', async () => {
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
    const tokens = tokensOf(arn);
    stack.startedAt = new Date();
    for (let i = 0; i < 5; i++) {
      h.sm.failNext('UpdateSecretVersionStage', awsError('InvalidParameterException', 'AWSCURRENT is attached to another version', 'client', 400),
        (x) => x.SecretId === stack.escrowArn);
    }
    const { answer, alerts } = await send('Delete', [arn]);
    expect(h.lines().filter((l) => l.level === 'WARN' && l.secretArn === arn)).toEqual([]);
    expectFinished({ answer, alerts }, tokens);
  });

  test('the escrow is evidence of nothing by itself: an entry for a secret that exists, or that this teardown does not list, revokes nothing', async () => {
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
    const stranger = h.selfSecret();
    await h.rotate(stranger.arn);
    const strangerValue = h.sm.valueAt(stranger.arn, 'AWSCURRENT');
    // A writer of the escrow names a secret still in the stack (retained) and one outside it, both with live tokens.
    stack.template.Resources.Secret.DeletionPolicy = 'Retain';
    const entry = (a: string, value: unknown, operation: string) => ({ operation, arn: a, current: value, versions: {}, held: [] });
    h.sm.addVersion(stack.escrowArn, escrowValue([entry(arn, h.sm.valueAt(arn, 'AWSCURRENT'), operationOf()), entry(arnOf('gone-stranger'), strangerValue, operationOf()),
      entry(arnOf('gone-earlier'), strangerValue, operationOf('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', BEFORE))]), ['AWSCURRENT']);
    const before = h.astra.tokens.size;
    const { answer } = await send('Delete', [arn, arnOf('gone-stranger')]);
    expect(answer).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/0 of 1 secrets deleted/) });
    expect(h.astra.tokens.size).toBe(before);
    expect(h.sm.secrets.has(arn)).toBe(true);
  });

  test('an escrow entry an earlier operation left counts for nothing for a secret that answers AccessDenied (third adversarial review)', async () => {
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
    const tokens = tokensOf(arn);
    stack.template.Resources.Secret.DeletionPolicy = 'Retain';
    const entry = { operation: operationOf('DELETE_IN_PROGRESS', BEFORE), arn, current: h.sm.valueAt(arn, 'AWSCURRENT'), versions: {}, held: [] };
    h.sm.addVersion(stack.escrowArn, escrowValue([entry]), ['AWSCURRENT']);
    h.sm.failNext('DescribeSecret', awsError('AccessDeniedException', 'not authorized', 'client', 400), (i) => i.SecretId === arn);
    await send('Delete', [arn]);
    expect(h.sm.secrets.has(arn)).toBe(true);
    for (const c of tokens) expect(h.astra.isLive(c)).toBe(true);
  });

  test('an escrow that cannot be read: the secrets are revoked before CloudFormation deletes them, and an alert says earlier deletions may have left tokens', async () => {
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
    h.sm.failNext('GetSecretValue', awsError('InternalServiceError', 'injected'), (i) => i.SecretId === stack.escrowArn);
    const { alerts } = await send('Delete', [arn]);
    expect(alerts).toEqual([expect.objectContaining({ alert: 'TokensLeftLiveOnDeletion', message: expect.stringMatching(/escrow .* could not be read/) })]);
    expect(h.lines().find((l) => l.level === 'WARN' && l.secretArn === arn)!.outcome).toMatch(/the escrow could not be read/);
  });

  const chainOf = async () => {
    const root = h.sm.create('root', JSON.stringify({ astraKey: h.admin.token, clientID: h.admin.clientId, clientSecret: h.admin.secret, roleID: ADMIN_ROLE, engine: 'AstraDB' }),
      { tags: h.binding(ADMIN_ROLE) });
    const mid = h.sm.create('mid', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(ADMIN_ROLE, root) });
    const leaf = h.sm.create('leaf', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(APP_ROLE, mid) });
    for (const arn of [mid, leaf]) await h.rotate(arn);
    for (const [arn, id] of [[root, 'Root'], [mid, 'Mid'], [leaf, 'Leaf']]) stack.adopt(arn, id);
    return { root, mid, leaf, tokens: { root: h.admin.clientId, mid: h.sm.valueAt(mid, 'AWSCURRENT').clientID, leaf: h.sm.valueAt(leaf, 'AWSCURRENT').clientID } };
  };
  const deleteRequest = (arns: string[], requestId: string) => ({
    RequestType: 'Delete',
    ResponseURL: respondTo(),
    StackId: STACK_ID,
    RequestId: requestId,
    LogicalResourceId: TEARDOWN_ID,
    PhysicalResourceId: 'teardown-1',
    ResourceProperties: { Secrets: arns.map((Arn) => ({ Arn })) },
  });

  test('a leaf someone scheduled for deletion that Secrets Manager will not delete either: it stays, and so do its admins, with live tokens; FAILED (fourteenth adversarial review)', async () => {
    const { root, mid, leaf, tokens } = await chainOf();
    stack.startedAt = new Date();
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
    stack.startedAt = new Date(Date.now() + 1_000);
    const retried = await send('Delete', [root, mid, leaf]);
    expect(retried.answer).toMatchObject({ Status: 'FAILED' });
    for (const c of Object.values(tokens)) expect(h.astra.isLive(c)).toBe(true);
  });

  test('a leaf\'s deletion whose answer is lost and cannot be checked at once: its admin waits for the second round, which revokes the leaf, then the admin (adversarial review)', async () => {
    const { root, mid, leaf, tokens } = await chainOf();
    stack.startedAt = new Date();
    h.sm.failNextAfterCommit('DeleteSecret');
    h.sm.failNext('DescribeSecret', awsError('InternalServiceError', 'injected'), (i) => i.SecretId === leaf && h.sm.count('DeleteSecret') > 0);
    await handler(deleteRequest([root, mid, leaf], 'r-chain'), context());
    for (const c of Object.values(tokens)) expect(h.astra.isLive(c)).toBe(false);
    const deletes = h.astra.requests.filter((r) => r.method === 'DELETE').map((r) => r.path.split('/').pop());
    expect(deletes.indexOf(tokens.leaf)).toBeLessThan(deletes.indexOf(tokens.mid));
    expect(cfn).toEqual([expect.objectContaining({ Status: 'SUCCESS', Reason: expect.stringMatching(/3 of 3 secrets deleted, 3 with every token revoked/) })]);
  });

  test('a deletion that commits and loses its answer late in the operation: Secrets Manager says it is gone, and its tokens are revoked at once (adversarial review)', async () => {
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
    stack.startedAt = new Date(Date.now() - 20 * 60_000);
    const tokens = tokensOf(arn);
    h.sm.failNextAfterCommit('DeleteSecret');
    const { answer, alerts } = await send('Delete', [arn]);
    expectFinished({ answer, alerts }, tokens);
  });

  test('a deletion that fails and did not happen: sent again at once, the secret goes, then its tokens (never revoked while it exists)', async () => {
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
    const tokens = tokensOf(arn);
    h.sm.failNext('DeleteSecret');
    expectFinished(await send('Delete', [arn]), tokens);
    expect(h.sm.count('DeleteSecret')).toBe(2);
    expect(h.lines().filter((l) => l.level === 'WARN')).toEqual([]);
  });

  test('a secret that cannot be deleted, whose first DeleteSecret failed with a server error: sent again, refused, so it stays with its live tokens; FAILED', async () => {
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
    const tokens = tokensOf(arn);
    h.sm.failNext('DeleteSecret', awsError('InternalServiceError', 'injected'));
    for (let i = 0; i < 3; i++) h.sm.failNext('DeleteSecret', awsError('InvalidRequestException', 'it still has replica regions', 'client', 400));
    const { answer } = await send('Delete', [arn]);
    expect(answer).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/not deleted, so their tokens stay live/) });
    expect(h.sm.secrets.has(arn)).toBe(true);
    for (const c of tokens) expect(h.astra.isLive(c)).toBe(true);
  });

  test('a DeleteSecret refused as the secret is marked for deletion by an earlier one of ours, whose answer was lost: not a secret that stays; deleted, then revoked, or named', async () => {
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
    const tokens = tokensOf(arn);
    stack.startedAt = new Date();
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
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
    stack.startedAt = new Date();
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
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
    h.sm.failNextAfterCommit('PutSecretValue');
    const { answer } = await send('Delete', [arn]);
    expect(answer).toMatchObject({ Status: 'SUCCESS' });
    expect(h.sm.valueAt(stack.escrowArn, 'AWSCURRENT').entries ?? []).toEqual([]);
  });

  test('a forged escrow entry and a forged cleanup Delete naming a secret that never existed: nothing revoked (adversarial review)', async () => {
    const stranger = h.selfSecret();
    await h.rotate(stranger.arn);
    const strangerId = h.sm.valueAt(stranger.arn, 'AWSCURRENT').clientID;
    const admin = stack.adopt(h.sm.create('real-admin', JSON.stringify({ astraKey: h.admin.token, clientID: h.admin.clientId, clientSecret: h.admin.secret, roleID: ADMIN_ROLE, engine: 'AstraDB' }),
      { tags: h.binding(ADMIN_ROLE) }), 'RealAdmin');
    stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    stack.teardown('teardown-2');
    stack.startedAt = new Date();
    const ghost = arnOf('ghost');
    const forged = {
      arn: ghost,
      adminSecretArn: admin,
      current: { clientID: strangerId, engine: 'AstraDB', pendingRevocations: [h.admin.clientId] },
      versions: { current: 'v1' },
      held: [{ clientId: strangerId, token: 'AstraCS:forged:0000', versionId: 'v1' }],
    };
    h.sm.addVersion(stack.escrowArn, escrowValue([{ operation: operationOf(), ...forged }, { operation: operationOf('DELETE_IN_PROGRESS', BEFORE), ...forged }]), ['AWSCURRENT']);
    const before = h.astra.tokens.size;
    await send('Delete', [ghost], { physicalId: 'forged-former-id' });
    expect(h.astra.isLive(strangerId)).toBe(true);
    expect(h.astra.isLive(h.admin.clientId)).toBe(true);
    expect(h.astra.tokens.size).toBe(before);
  });

  test('a refusal whose message echoes a token: the token reaches neither the answer nor a log line', async () => {
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
    const token = h.sm.valueAt(arn, 'AWSCURRENT').astraKey as string;
    h.sm.failNext('DeleteSecret', awsError('InvalidRequestException', `cannot delete: ${token}`, 'client', 400));
    const { answer } = await send('Delete', [arn]);
    expect(answer.Status).toBe('FAILED');
    expect(JSON.stringify(answer)).not.toContain(token);
    expect(JSON.stringify(h.lines())).not.toContain(token);
  });

  test('a secret with replica regions: left to CloudFormation, which removes the replicas; its tokens are revoked first', async () => {
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
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
    for (const id of ['Root', 'Mid', 'Leaf']) stack.removeFromTemplate(id);
    stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    stack.teardown('teardown-2');
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
    stack.startedAt = new Date();
    // Every attempt of the Astra client's first DELETE of the leaf's token fails; then Astra recovers.
    h.astra.fail({ method: 'DELETE', path: new RegExp(`/v2/clientIdSecrets/${tokens.leaf}$`), status: 503, times: 3 });
    const { answer, alerts } = await send('Delete', [root, mid, leaf]);
    expect(alerts).toEqual([]);
    for (const c of Object.values(tokens)) expect(h.astra.isLive(c)).toBe(false);
    expect(answer).toMatchObject({ Status: 'SUCCESS' });
  });

  test('a leaf whose revocation fails in both rounds: no retry comes for a failure that took no time, so the admin goes, and the alert names the leaf\'s tokens', async () => {
    const { root, mid, leaf, tokens } = await chainOf();
    stack.startedAt = new Date();
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
    for (const name of ['first', 'second', 'third']) arns.push(stack.adopt(await rotatedAdminSecret(name), name));
    const tokens = arns.flatMap(tokensOf);
    stack.startedAt = new Date();
    const real = deleteRequest(arns, 'r-real');
    /** Out of time once this many secrets' tokens are revoked (two each; 0: once it has read the stack), or never. */
    const invoke = async (event: Record<string, unknown>, runsOutAfterSecrets?: number) => {
      const [revocations, reads] = [h.astra.count('DELETE'), stack.calls.length];
      const clock = runsOutAfterSecrets === undefined ? undefined
        : timeRunsOut(() => stack.calls.length > reads && h.astra.count('DELETE') >= revocations + 2 * runsOutAfterSecrets);
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
    const [kept, other] = [stack.adopt(await rotatedAdminSecret('kept'), 'Kept'), stack.adopt(await rotatedAdminSecret('other'), 'Other')];
    const tokens = tokensOf(kept);
    for (const id of ['Kept', 'Other']) stack.removeFromTemplate(id);
    stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    stack.startedAt = new Date();
    stack.teardown('teardown-2');
    const real = deleteRequest([kept, other], 'r-cleanup');
    const clock = timeRunsOut(() => h.sm.count('DeleteSecret') > 0);
    await expect(handler(real, context())).rejects.toThrow(/Lambda's retry of the request continues/);
    clock.mockRestore();
    await handler({ ...deleteRequest([other], 'r-forged'), ResponseURL: `${respondTo()}?forged` }, context());
    expect(h.sm.valueAt(stack.escrowArn, 'AWSCURRENT').entries.map((e: { arn: string }) => e.arn)).toEqual([kept]);
    await handler(real, context());
    for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
    expect(cfn.filter((a) => a.RequestId === 'r-cleanup')).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
  });

  test('in a cleanup a deleted secret that Secrets Manager answers AccessDenied for (no tags left) is revoked from the escrow on the retry (second adversarial review)', async () => {
    const arn = stack.adopt(await rotatedAdminSecret('removed'), 'Removed');
    const tokens = tokensOf(arn);
    stack.removeFromTemplate('Removed');
    stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    stack.startedAt = new Date();
    stack.teardown('teardown-2');
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
    const refused = stack.adopt(await rotatedAdminSecret('refused'), 'Refused');
    const failing = stack.adopt(await rotatedAdminSecret('failing'), 'Failing');
    for (const id of ['Refused', 'Failing']) stack.removeFromTemplate(id);
    stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    stack.teardown('teardown-2');
    h.sm.failNext('DeleteSecret', awsError('InvalidRequestException', 'a pending operation', 'client', 400), (i) => i.SecretId === refused);
    h.astra.fail({ method: 'DELETE', path: /^\/v2\/clientIdSecrets\//, status: 403, times: 20 });
    const { answer } = await send('Delete', [refused, failing], { physicalId: 'teardown-1' });
    expect(answer).toMatchObject({ Status: 'SUCCESS' });
    expect(escrowed()).toEqual([failing]);
  });

  test('a teardown the update removed with its function: confirmed while CloudFormation lists it, and its secrets\' tokens are revoked first (no escrow)', async () => {
    const arn = stack.adopt(await rotatedAdminSecret('removed'), 'Removed');
    const token = h.sm.valueAt(arn, 'AWSCURRENT').clientID;
    stack.removeFromTemplate('Removed');
    delete stack.template.Resources[TEARDOWN_ID];
    stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    stack.startedAt = new Date();
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
        const removed = stack.adopt(await rotatedAdminSecret('removed'), 'Removed');
        const tokens = tokensOf(removed);
        stack.removeFromTemplate('Removed');
        stack.status = phase;
        stack.startedAt = new Date();
        stack.teardown('teardown-2');
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
      const x = stack.adopt(await rotatedAdminSecret('x'), 'X');
      const tokens = tokensOf(x);
      stack.startedAt = new Date();
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
      const removed = stack.adopt(await rotatedAdminSecret('removed'), 'Removed');
      const current = h.sm.valueAt(removed, 'AWSCURRENT').clientID;
      stack.removeFromTemplate('Removed');
      stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
      stack.startedAt = new Date();
      stack.teardown('teardown-2');
      await handler({ ...deleteRequest([removed], 'r-forged'), LogicalResourceId: 'NoSuchResource', PhysicalResourceId: 'x', ResponseURL: forgedUrl }, context());
      expect(h.lines().filter((l) => l.alert === ALERT_NAMES.TEARDOWN_NOT_CONFIRMED)).toEqual([expect.objectContaining({ message: expect.stringMatching(/does not declare NoSuchResource/) })]);
      // CloudFormation's own Delete: Secrets Manager refuses the deletion, and the secret leaves the stack whole.
      h.sm.failNext('DeleteSecret', awsError('InvalidRequestException', 'a pending operation', 'client', 400), (i) => i.SecretId === removed);
      await handler(deleteRequest([removed], 'r-real'), context());
      expect(h.sm.secrets.has(removed)).toBe(true);
      expect(h.astra.isLive(current)).toBe(true);
    });

    test('a stack deletion whose last invocation never answered leaves its entry; the retried deletion, another operation, revokes the tokens from it', async () => {
      const x = stack.adopt(await rotatedAdminSecret('x'), 'X');
      const tokens = tokensOf(x);
      stack.startedAt = new Date();
      await realRunsOutAfterDeleting(deleteRequest([x], 'r-first'));
      // No answer reached CloudFormation: DELETE_FAILED at the ServiceTimeout, and the deletion retried with a new DeletionTime.
      stack.startedAt = new Date(Date.now() + 20 * 60_000);
      const realNow = Date.now;
      const later = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 20 * 60_000);
      await handler(deleteRequest([x], 'r-second'), context());
      later.mockRestore();
      for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
      expect(cfn).toEqual([expect.objectContaining({ Status: 'SUCCESS', Reason: expect.stringMatching(/1 of 1 secrets deleted, 1 with every token revoked/) })]);
      expect(escrowed()).toEqual([]);
    });

    test('in a stack deletion, a forged Delete whose revocations fail gives up with an alert, and leaves the entry: the real retry revokes the tokens', async () => {
      const x = stack.adopt(await rotatedAdminSecret('x'), 'X');
      const tokens = tokensOf(x);
      stack.startedAt = new Date();
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
      const x = stack.adopt(await rotatedAdminSecret('x'), 'X');
      const tokens = tokensOf(x);
      stack.startedAt = new Date();
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
      const x = stack.adopt(await rotatedAdminSecret('x'), 'X');
      const tokens = tokensOf(x);
      const admin = h.sm.valueAt(x, 'AWSCURRENT').rootarn as string;
      stack.removeFromTemplate('X');
      stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
      stack.startedAt = new Date();
      stack.teardown('teardown-2');
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
      stack.startedAt = new Date();
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
    stack.adopt(root, 'Root');
    stack.adopt(mid, 'Mid');
    stack.adopt(leaf, 'Leaf');
    const tokens = { root: h.admin.clientId, mid: h.sm.valueAt(mid, 'AWSCURRENT').clientID, leaf: h.sm.valueAt(leaf, 'AWSCURRENT').clientID };
    const { alerts } = await send('Delete', [root, mid, leaf]);
    expect(alerts).toEqual([]);
    const deletes = h.astra.requests.filter((r) => r.method === 'DELETE').map((r) => r.path.split('/').pop());
    expect(deletes).toEqual([tokens.leaf, tokens.mid, tokens.root]);
    expect(h.astra.tokens.size).toBe(0);
  });

  test.each([
    ['no role tag', (arn: string) => { h.sm.secrets.get(arn)!.tags = h.sm.secrets.get(arn)!.tags.filter((t) => t.Key !== 'astra-token-secret:role-id'); }, /no tag astra-token-secret:role-id/],
    ['an unreadable admin secret', (arn: string) => { h.sm.secrets.get(arn)!.tags.find((t) => t.Key === 'astra-token-secret:admin-secret-arn')!.Value = `${arn}x`; },
      /admin secret .* could not be read|has no AWSCURRENT/],
    ['a token list Astra refuses', () => h.astra.fail({ method: 'GET', path: /^\/v2\/clientIdSecrets$/, status: 403, times: 10 }), /token list could not be read/],
    ['revocations Astra refuses', () => h.astra.fail({ method: 'DELETE', path: /^\/v2\/clientIdSecrets\//, status: 403, times: 10 }), /some revocations failed/],
    ['a value that cannot be read', (arn: string) => h.sm.failNext('GetSecretValue', awsError('InternalServiceError', 'injected'), (i) => i.SecretId === arn), /values could not be read .*InternalServiceError/],
  ])('%s: SUCCESS all the same, and an ERROR alert line saying what is left', async (_what, breakIt, why) => {
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
    breakIt(arn);
    const { answer, alerts } = await send('Delete', [arn]);
    expect(answer).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/tokens left live for/) });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ level: 'ERROR', alert: 'TokensLeftLiveOnDeletion', secretArn: arn, message: expect.stringMatching(why) });
  });

  test('a secret that is gone is skipped; one the role may not describe, or whose description fails, is reported left live', async () => {
    const gone = arnOf('gone');
    const denied = stack.adopt(await rotatedAdminSecret('denied'), 'Denied');
    const failing = stack.adopt(await rotatedAdminSecret('failing'), 'Failing');
    h.sm.failNext('DescribeSecret', awsError('AccessDeniedException', 'not allowed', 'client', 403), (i) => i.SecretId === denied);
    h.sm.failNext('DescribeSecret', awsError('InternalServiceError', 'injected'), (i) => i.SecretId === failing);
    stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    stack.teardown('teardown-2');
    const { alerts } = await send('Delete', [gone, denied, failing], { physicalId: 'teardown-1' });
    expect(h.lines().find((l) => l.secretArn === gone)!.outcome).toBe('skipped: the secret no longer exists');
    expect(alerts.map((a) => [a.secretArn, a.message])).toEqual([
      [denied, expect.stringMatching(/could not be described \(AccessDeniedException/)],
      [failing, expect.stringMatching(/could not be described .*InternalServiceError/)],
    ]);
  });

  test('a self-rotating secret that never held a token has nothing to revoke; one whose token no longer authenticates is reported', async () => {
    const empty = stack.adopt(h.sm.create('empty', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(ADMIN_ROLE) }), 'Empty');
    const { arn: dead, initial } = h.selfSecret();
    stack.adopt(dead, 'Dead');
    h.astra.tokens.delete(initial.clientId);
    const { alerts } = await send('Delete', [empty, dead]);
    expect(h.lines().find((l) => l.secretArn === empty && l.step === 'teardown')!.outcome).toBe('nothing to revoke: the secret never held a token');
    expect(alerts).toEqual([expect.objectContaining({ secretArn: dead, message: expect.stringMatching(/no longer authenticates/) })]);
  });

  test('out of time: the secrets not reached are reported left live', async () => {
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
    const { alerts } = await send('Delete', [arn], { remainingMs: 20_100 }); // 100 ms past the 20 s margin
    expect(alerts[0].message).toMatch(/ran out of time/);
  });

  test('out of time while the operation is young: no answer yet, and Lambda\'s retry of the request finishes the work', async () => {
    process.env.TEARDOWN_TURNS_AT_ONCE = '1';
    const first = stack.adopt(await rotatedAdminSecret('first'), 'First');
    const second = stack.adopt(await rotatedAdminSecret('second'), 'Second');
    stack.startedAt = new Date();
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
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
    stack.startedAt = new Date(Date.now() - 11 * 60_000);
    const { answer, alerts } = await send('Delete', [arn], { remainingMs: 20_100 });
    expect(answer.Status).toBe('SUCCESS');
    expect(alerts[0].message).toMatch(/ran out of time/);
  });

  test('self-rotating secrets share one token list; a secret whose last token an earlier attempt revoked has nothing left', async () => {
    const a = h.selfSecret();
    stack.adopt(a.arn, 'A');
    await h.rotate(a.arn);
    const b = h.sm.create('self-b', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(ADMIN_ROLE) });
    const bToken = h.astra.issue([ADMIN_ROLE], 'b');
    h.sm.secrets.get(b)!.versions.forEach((v) => { v.value = JSON.stringify({ astraKey: bToken.token, clientID: bToken.clientId, engine: 'AstraDB' }); });
    stack.adopt(b, 'B');
    h.astra.tokens.delete(bToken.clientId); // an earlier attempt revoked b's last token
    const lists = h.astra.count('GET', /^\/v2\/clientIdSecrets$/);
    const { alerts } = await send('Delete', [a.arn, b]);
    expect(h.astra.count('GET', /^\/v2\/clientIdSecrets$/) - lists).toBe(2); // a's list; b's token answers 401, a's list shows nothing of b
    expect(alerts).toEqual([]);
    expect(h.lines().find((l) => l.secretArn === b && l.step === 'teardown')!.outcome).toBe('revoked: nothing of the secret is live any more');
  });

  test('CloudFormation\'s state that cannot be read: nothing revoked, each listed secret an alert, SUCCESS', async () => {
    const arn = stack.adopt(await rotatedAdminSecret(), 'Secret');
    stack.mock.rejects(awsError('Throttling', 'Rate exceeded'));
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

  describe('deletions in batches: one escrow write before several secrets are deleted, for the escrow\'s version quota', () => {
    /** Self-rotating secrets of the stack, each holding its bootstrap token. */
    const selfSecrets = (count: number, tags?: Record<string, string>) => Array.from({ length: count }, (_, i) => {
      const { arn } = h.selfSecret(tags);
      h.sm.secrets.set(arnOf(`self-${i}`), { ...h.sm.secrets.get(arn)!, arn: arnOf(`self-${i}`), name: `self-${i}` });
      h.sm.secrets.delete(arn);
      return stack.adopt(arnOf(`self-${i}`), `Self${i}`);
    });
    const escrowWrites = () => h.sm.calls.filter((c) => c.operation === 'PutSecretValue' && c.input.SecretId === stack.escrowArn).length;
    const tokensOfAll = (arns: string[]) => arns.map((arn) => h.sm.valueAt(arn, 'AWSCURRENT').clientID as string);

    test(`more secrets than the escrow has versions (${VERSIONS_KEPT} a day): every one deleted before its tokens are revoked, in a few writes`, async () => {
      const arns = selfSecrets(VERSIONS_KEPT + 20);
      const tokens = tokensOfAll(arns);
      const { answer, alerts } = await send('Delete', arns);
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
      const escrowHolds = (arn: string) => h.sm.valueAt(stack.escrowArn, 'AWSCURRENT').entries?.some((e: { arn: string }) => e.arn === arn);
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
      stack.startedAt = new Date();
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

    const toEscrow = (x: { SecretId?: string }) => x.SecretId === stack.escrowArn;
    test.each([
      ['a server error', () => h.sm.failNext('PutSecretValue', awsError('InternalServiceError', 'injected'), toEscrow)],
      ['a write that commits and reports an error', () => h.sm.failNextAfterCommit('UpdateSecretVersionStage', awsError('InternalServiceError', 'reset after commit'))],
      // The read of the write, not the first read of the invocation.
      ['a timeout reading it', () => h.sm.failNext('GetSecretValue', Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }),
        (x) => toEscrow(x) && h.sm.calls.filter((c) => c.operation === 'GetSecretValue' && toEscrow(c.input)).length > 1)],
    ])('an escrow write that fails in a way that may pass (%s), while the operation is young: the secret waits for the second round, none goes the old way', async (_what, fail) => {
      const arns = [stack.adopt(await rotatedAdminSecret('one'), 'One'), stack.adopt(await rotatedAdminSecret('two'), 'Two')];
      const tokens = arns.flatMap(tokensOf);
      stack.startedAt = new Date();
      fail();
      expectFinished(await send('Delete', arns), tokens, 2);
      expect(h.lines().filter((l) => l.level === 'WARN' || l.level === 'ERROR')).toEqual([]);
    });

    test('one escrow write failing in a way that may pass holds back the first secret of its batch alone: the others are deleted in their turns', async () => {
      const arns = selfSecrets(5);
      const tokens = tokensOfAll(arns);
      stack.startedAt = new Date();
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
      const arns = [stack.adopt(await rotatedAdminSecret('one'), 'One'), stack.adopt(await rotatedAdminSecret('two'), 'Two')];
      const tokens = arns.flatMap(tokensOf);
      stack.startedAt = new Date();
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
        stack.startedAt = new Date();
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
        stack.startedAt = new Date();
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
        for (const id of ids) stack.removeFromTemplate(id);
        stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
        stack.startedAt = new Date();
        stack.teardown('teardown-2');
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
        stack.startedAt = new Date();
        const requestEvent = deleteRequest(arns, 'r-unanswered');
        unanswered(arns[0]);
        h.sm.hangNext('DeleteSecret', (x) => x.SecretId === arns[0] && h.sm.calls.filter((c) => c.operation === 'DeleteSecret' && c.input.SecretId === arns[0]).length >= 2);
        void handler(requestEvent, context());
        await waitFor(2_000);
        expect(h.sm.secrets.has(arns[0])).toBe(true);
        expect(h.sm.valueAt(stack.escrowArn, 'AWSCURRENT').entries.find((e: { arn: string }) => e.arn === arns[0]).writtenAhead).toBe(true);
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
        stack.startedAt = new Date(Date.now() - 20 * 60_000);
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
        stack.startedAt = new Date();
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
          stack.startedAt = new Date(realNow());
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
          const arn = stack.adopt(await rotatedAdminSecret('kept'), 'Kept', { DeletionPolicy: 'Retain' });
          const tokens = tokensOf(arn);
          h.sm.secrets.get(arn)!.deletedDate = new Date();
          const adminSecretArn = h.sm.secrets.get(arn)!.tags.find((t) => t.Key === 'astra-token-secret:admin-secret-arn')!.Value;
          const forged = { operation: operationOf(), arn, adminSecretArn, current: { clientID: tokens[0], engine: 'AstraDB' }, versions: {}, held: [] };
          h.sm.addVersion(stack.escrowArn, escrowValue([forged]), ['AWSCURRENT']);
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
            h.sm.addVersion(stack.escrowArn, escrowValue([forged]), ['AWSCURRENT']);
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
            h.sm.addVersion(stack.escrowArn, escrowValue([forged]), ['AWSCURRENT']);
            await send('Delete', [other, arn]);
            expect(h.astra.requests.filter((r) => r.path === '/v2/clientIdSecrets' && r.method === 'GET').length).toBeGreaterThan(1);
            for (const c of otherTokens) expect(h.astra.isLive(c)).toBe(false);
            expect(h.lines().filter((l) => l.alert && l.secretArn === other)).toEqual([]);
          });

          test('a value writer\'s token of another org in AWSCURRENT of a secret alone in the deletion: AWSPREVIOUS\'s token, of the org its value records, revokes the secret\'s tokens', async () => {
            const [arn] = selfSecrets(1);
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
            expect(alerts).toEqual([]);
            expect(answer).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/1 of 1 secrets deleted, 1 with every token revoked/) });
          });

          test('killed after this operation wrote the entry, before its DeleteSecret, then AccessDenied: the entry says the deletion was not sent, so nothing is revoked', async () => {
            const [arn] = selfSecrets(1);
            const tokens = tokensOfAll([arn]);
            stack.startedAt = new Date(realNow());
            const earlier = { operation: operationOf('DELETE_IN_PROGRESS', BEFORE), arn, current: h.sm.valueAt(arn, 'AWSCURRENT'), versions: {}, held: [] };
            h.sm.addVersion(stack.escrowArn, escrowValue([earlier]), ['AWSCURRENT']);
            h.sm.secrets.get(arn)!.deletedDate = new Date();
            const event = deleteRequest([arn], 'r-scheduled-kill');
            h.sm.hangNext('DeleteSecret', (x) => x.SecretId === arn);
            void handler(event, context());
            await new Promise((resolve) => setTimeout(resolve, 300));
            expect(h.sm.valueAt(stack.escrowArn, 'AWSCURRENT').entries).toEqual([expect.objectContaining({ arn, operation: operationOf(), writtenAhead: true })]);
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
            h.sm.addVersion(stack.escrowArn, escrowValue([entry]), ['AWSCURRENT']);
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
            stack.startedAt = new Date(Date.now() - 60 * 60_000);
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
            h.sm.addVersion(stack.escrowArn, escrowValue(entries), ['AWSCURRENT']);
            await send('Delete', [arn]);
            const error = h.lines().find((l) => l.level === 'ERROR' && /escrow .* could not be written/.test(String(l.outcome)));
            expect(error?.outcome).toMatch(/would exceed.*delete that policy \(DeleteResourcePolicy\), put \{\}, and put the policy back/);
          });
        });

        describe('values of another org, or dead, in a self-rotating secret\'s stages (eighteenth to twenty-first adversarial reviews)', () => {
          /** Every token marked as the secret's that Astra still has live. */
          const liveMarked = (arn: string) => h.astra.everIssued
            .filter((t) => h.astra.isLive(t.clientId) && markedAsSecrets({ clientId: t.clientId, description: t.description ?? '', roles: [], tokenExpiry: null }, arn))
            .map((t) => t.clientId);
          /** What PutSecretValue does: the new version takes AWSCURRENT, the version it replaces takes AWSPREVIOUS. */
          const put = (arn: string, value: Record<string, unknown>) => {
            const replaced = h.sm.versionWith(arn, 'AWSCURRENT')!;
            h.sm.addVersion(arn, JSON.stringify(value), ['AWSCURRENT']);
            h.sm.removeStage(arn, 'AWSPREVIOUS');
            h.sm.secrets.get(arn)!.versions.get(replaced)!.stages.add('AWSPREVIOUS');
          };
          const withToken = (value: Record<string, unknown>, token: { clientId: string; token: string; secret: string }) =>
            ({ ...value, astraKey: token.token, clientID: token.clientId, clientSecret: token.secret });
          /** A token of another org: its list (the next one read after `after`) shows itself alone, and Astra names another org for it. */
          const foreignToken = (after: number) => {
            const foreign = h.astra.issue([ADMIN_ROLE], 'another org\'s token');
            const foreignOnly = { clients: [{ clientId: foreign.clientId, roles: [ADMIN_ROLE], description: 'another org\'s token', generatedOn: new Date().toISOString() }] };
            h.astra.fail({ method: 'GET', path: /^\/v2\/clientIdSecrets$/, status: 200, body: JSON.stringify(foreignOnly), times: 1, after });
            h.astra.fail({ method: 'GET', path: /^\/v2\/currentOrg$/, status: 200, body: JSON.stringify({ id: FOREIGN_ORG, name: 'another' }), times: 1 });
            return foreign;
          };
          const deadToken = () => {
            const dead = h.astra.issue([ADMIN_ROLE], 'revoked long ago');
            h.astra.tokens.delete(dead.clientId);
            return dead;
          };
          const rotatedTwice = async (count: number) => {
            const arns = selfSecrets(count);
            for (const arn of arns) {
              await h.rotate(arn);
              await h.rotate(arn);
            }
            return arns;
          };

          test('another org\'s working token in AWSPREVIOUS (recording the stack\'s org), then a dead one in AWSCURRENT: the secret\'s live tokens are an alert, not "revoked"', async () => {
            const [arn] = await rotatedTwice(1);
            await h.rotate(arn);
            const real = h.sm.valueAt(arn, 'AWSCURRENT');
            const secretsOwn = liveMarked(arn);
            expect(secretsOwn).toHaveLength(2);
            put(arn, withToken(real, foreignToken(1)));
            put(arn, withToken(real, deadToken()));
            const { answer, alerts } = await send('Delete', [arn]);
            expect(secretsOwn.filter((c) => h.astra.isLive(c))).toEqual(secretsOwn);
            expect({ reason: answer.Reason, alerts: alerts.map((a) => a.secretArn) }).toEqual({ reason: expect.stringMatching(/tokens left live for/), alerts: [arn] });
          });

          test('AWSPREVIOUS\'s value records another org, but its token is in the list AWSCURRENT\'s token read: every token revoked, no alert, the escrow cleared', async () => {
            const [arn] = await rotatedTwice(1);
            const older = h.sm.valueAt(arn, 'AWSPREVIOUS');
            const newer = h.sm.valueAt(arn, 'AWSCURRENT');
            const secretsOwn = liveMarked(arn);
            put(arn, { ...older, orgId: FOREIGN_ORG });
            put(arn, newer);
            const { answer, alerts } = await send('Delete', [arn]);
            for (const c of secretsOwn) expect(h.astra.isLive(c)).toBe(false);
            expect({ reason: answer.Reason, alerts, escrowed: escrowed() })
              .toEqual({ reason: expect.stringMatching(/1 of 1 secrets deleted, 1 with every token revoked/), alerts: [], escrowed: [] });
          });

          test('the same puts with a token of the stack\'s org, beside another leaving secret: no token of the secret is left live without an alert', async () => {
            const [arn, other] = await rotatedTwice(2);
            const real = h.sm.valueAt(arn, 'AWSCURRENT');
            const secretsOwn = liveMarked(arn);
            put(arn, withToken(real, h.astra.issue([ADMIN_ROLE], 'a token of the org')));
            put(arn, withToken(real, deadToken()));
            const { alerts } = await send('Delete', [arn, other]);
            const named = alerts.filter((a) => a.secretArn === arn).flatMap((a) => a.clientIds);
            expect(secretsOwn.filter((c) => h.astra.isLive(c) && !named.includes(c))).toEqual([]);
          });

          /** No token of the secrets is live unless an alert names it. */
          const unreported = (arns: string[], own: string[], alerts: Array<Record<string, any>>) => {
            const named = alerts.filter((a) => arns.includes(a.secretArn)).flatMap((a) => [...a.clientIds ?? [], ...a.notProvenClientIds ?? []]);
            return own.filter((c) => h.astra.isLive(c) && !named.includes(c));
          };
          /** Another org's token whose GET /v2/currentOrg does not answer (an outage): its list would be labelled by a value's claim. */
          const foreignTokenOfUnnamedOrg = () => {
            const foreign = h.astra.issue([ADMIN_ROLE], 'another org\'s token');
            const foreignOnly = { clients: [{ clientId: foreign.clientId, roles: [ADMIN_ROLE], description: 'another org\'s token', generatedOn: new Date().toISOString() }] };
            h.astra.fail({ method: 'GET', path: /^\/v2\/clientIdSecrets$/, status: 200, body: JSON.stringify(foreignOnly), times: 1 });
            h.astra.fail({ method: 'GET', path: /^\/v2\/currentOrg$/, status: 503, times: 3 });
            return foreign;
          };

          test.each([[2], [1]])('another org\'s token in AWSCURRENT recording the stack\'s org, whose org Astra does not name (%i secrets): no token of the stack is left live unreported', async (count) => {
            const arns = await rotatedTwice(count);
            const own = arns.flatMap(liveMarked);
            put(arns[count - 1], withToken(h.sm.valueAt(arns[count - 1], 'AWSCURRENT'), foreignTokenOfUnnamedOrg()));
            const { alerts } = await send('Delete', arns);
            expect(unreported(arns, own, alerts)).toEqual([]);
          });

          test('the same token of another org in both stages, both recording the stack\'s org: not "revoked", an alert', async () => {
            const [arn] = await rotatedTwice(1);
            const real = h.sm.valueAt(arn, 'AWSCURRENT');
            const foreign = foreignToken(0);
            put(arn, withToken(real, foreign));
            put(arn, withToken(real, foreign));
            const { answer, alerts } = await send('Delete', [arn]);
            // The first round finds the list of another org than the values record; the second, that token revoked (by itself).
            expect({ reason: answer.Reason, alerts: alerts.map((a) => a.secretArn) }).toEqual({ reason: expect.stringMatching(/tokens left live for/), alerts: [arn] });
          });

          test.each([
            ['AWSPREVIOUS\'s possession check (GET /v2/currentOrg)', { method: 'GET', path: /^\/v2\/currentOrg$/, status: 503, times: 3, after: 1 }],
            ['AWSPREVIOUS\'s revocation', { method: 'DELETE', path: /^\/v2\/clientIdSecrets\//, status: 503, times: 3 }],
          ])('rotated once, %s fails in the first round: AWSCURRENT\'s token does not revoke itself before it, and the second round revokes both', async (_, fault) => {
            const [arn] = selfSecrets(1);
            await h.rotate(arn);
            const tokens = tokensOf(arn);
            h.astra.fail(fault);
            const { answer, alerts } = await send('Delete', [arn]);
            expect({ reason: answer.Reason, alerts, live: tokens.filter((c) => h.astra.isLive(c)) })
              .toEqual({ reason: expect.stringMatching(/1 of 1 secrets deleted, 1 with every token revoked/), alerts: [], live: [] });
          });

          describe.each([['answers', false], ['does not answer', true]])('legitimate deletions while GET /v2/currentOrg %s', (_, outage) => {
            const expectClean = (r: { answer: Record<string, any>; alerts: Array<Record<string, any>> }, tokens: string[], count: number) => {
              if (!outage) {
                expect({ reason: r.answer.Reason, alerts: r.alerts, live: tokens.filter((c) => h.astra.isLive(c)), escrowed: escrowed() }).toEqual({
                  reason: expect.stringMatching(new RegExp(`${count} of ${count} secrets deleted, ${count} with every token revoked`)), alerts: [], live: [], escrowed: [],
                });
                return;
              }
              // Nothing says a list is of the org the values record (a value writer's token could make currentOrg fail): every
              // token is revoked all the same, and each self-rotating secret's alert says that this is not confirmed, naming no live
              // token (its values' claims, revoked before, are named as claims).
              expect({ reason: r.answer.Reason, live: tokens.filter((c) => h.astra.isLive(c)) })
                .toEqual({ reason: expect.stringMatching(new RegExp(`${count} of ${count} secrets deleted`)), live: [] });
              const liveClaims = (claims: string[] = []) => claims.filter((c) => h.astra.isLive(c));
              expect(r.alerts.map((a) => ({ clientIds: a.clientIds, liveClaims: liveClaims(a.notProvenClientIds), message: a.message })))
                .toEqual(r.alerts.map(() => ({ clientIds: [], liveClaims: [], message: expect.stringMatching(UNCONFIRMED) })));
            };
            /** Every call, or the first list's alone (an unmarked token's possession is checked with the same call). */
            const currentOrgDown = (times = 1_000) => {
              if (outage) h.astra.fail({ method: 'GET', path: /^\/v2\/currentOrg$/, status: 503, times });
            };

            test('self-rotating secrets revoking at once, rotated 0 to 3 times, one mid-rotation', async () => {
              const arns = selfSecrets(4, { [POLICY_TAG]: 'IMMEDIATELY' });
              for (const [i, arn] of arns.entries()) for (let n = 0; n < i; n++) await h.rotate(arn);
              await h.step('createSecret', arns[3], h.sm.startRotation(arns[3]));
              const tokens = [...arns.flatMap(liveMarked), ...arns.map((arn) => h.sm.valueAt(arn, 'AWSCURRENT').clientID as string)];
              currentOrgDown();
              expectClean(await send('Delete', arns), tokens, 4);
            });

            test('self-rotating secrets with pending revocations, rotated 1 to 3 times', async () => {
              const arns = selfSecrets(3);
              for (const [i, arn] of arns.entries()) for (let n = 0; n <= i; n++) await h.rotate(arn);
              const tokens = [...arns.flatMap(liveMarked), ...arns.map((arn) => h.sm.valueAt(arn, 'AWSPREVIOUS').clientID as string)];
              currentOrgDown(3);
              expectClean(await send('Delete', arns), tokens, 3);
            });

            test('two secrets one admin mints, revoking at once, rotated 3 times, one mid-rotation: the admin\'s token stays', async () => {
              const { arn: first, rootarn } = h.adminSecret({}, { [POLICY_TAG]: 'IMMEDIATELY' });
              const initial = h.astra.issue([APP_ROLE], 'initial 2');
              const second = h.sm.create('app-token-2', JSON.stringify({
                astraKey: initial.token, clientID: initial.clientId, clientSecret: initial.secret, roleID: APP_ROLE, engine: 'AstraDB', rootarn,
              }), { tags: { ...h.binding(APP_ROLE, rootarn), [POLICY_TAG]: 'IMMEDIATELY' } });
              for (const arn of [first, second]) for (let n = 0; n < 3; n++) await h.rotate(arn);
              await h.step('createSecret', second, h.sm.startRotation(second));
              stack.adopt(first, 'First');
              stack.adopt(second, 'Second');
              const tokens = [...[first, second].flatMap(liveMarked), ...[first, second].map((arn) => h.sm.valueAt(arn, 'AWSCURRENT').clientID as string)];
              currentOrgDown();
              expectClean(await send('Delete', [first, second]), tokens, 2);
              expect(h.astra.isLive(h.admin.clientId)).toBe(true);
            });

            test('30 self-rotating secrets revoking at once, rotated twice: one list serves them all, and one revocation each', async () => {
              const arns = selfSecrets(30, { [POLICY_TAG]: 'IMMEDIATELY' });
              for (const arn of arns) for (let n = 0; n < 2; n++) await h.rotate(arn);
              const tokens = arns.flatMap(liveMarked);
              currentOrgDown();
              const before = h.astra.requests.length;
              expectClean(await send('Delete', arns), tokens, 30);
              // The list, its org (three attempts, and three more before the second round, when down), 30 revocations; when down,
              // each secret also tries its other stage's token (revoked at its rotation: a 401, once), for Astra did not say the
              // list is of the org its values record.
              expect(h.astra.requests.length - before).toBeLessThanOrEqual(outage ? 30 + 30 + 8 : 30 + 2);
            });

            test('a retry after the first 20 of 30 secrets\' tokens were revoked: no alert, at most a call for each dead token', async () => {
              const arns = await rotatedTwice(30);
              for (const arn of arns.slice(0, 20)) for (const c of tokensOf(arn)) h.astra.tokens.delete(c);
              currentOrgDown();
              const before = h.astra.requests.length;
              const { alerts } = await send('Delete', arns);
              // While it does not, no list's org is known, and so nothing is confirmed: an alert each, naming no token (every one is revoked).
              if (outage) {
                expect(alerts.map((a) => [a.clientIds, a.message.match(UNCONFIRMED)?.length])).toEqual(arns.map(() => [[], 1]));
                expect(arns.flatMap(liveMarked)).toEqual([]);
              } else {
                expect(alerts).toEqual([]);
              }
              // Astra naming the list's org, a dead authority costs no call; while it does not, a 401 for each stage's token (a claimed
              // org judges no authority dead, and the other stage's token searches in its turn).
              expect(h.astra.requests.slice(before).filter((r) => r.status === 401).length).toBe(outage ? 40 : 0);
            });

            test('rotated once, AWSPREVIOUS\'s bootstrap token unprovable while currentOrg is down: named, and AWSCURRENT\'s token not left live beside it', async () => {
              const [arn] = selfSecrets(1);
              await h.rotate(arn);
              const [current, bootstrap] = tokensOf(arn);
              currentOrgDown();
              const { alerts } = await send('Delete', [arn]);
              expect(h.astra.isLive(current)).toBe(false);
              if (outage) expect(alerts.flatMap((a) => [...a.clientIds ?? [], ...a.notProvenClientIds ?? []])).toContain(bootstrap);
              else expect({ alerts, live: h.astra.isLive(bootstrap) }).toEqual({ alerts: [], live: false });
            });

            test('root -> mid -> leaf, mid and leaf rotated twice', async () => {
              const root = h.sm.create('root', JSON.stringify({ astraKey: h.admin.token, clientID: h.admin.clientId, clientSecret: h.admin.secret, roleID: ADMIN_ROLE, engine: 'AstraDB' }),
                { tags: h.binding(ADMIN_ROLE) });
              const mid = h.sm.create('mid', JSON.stringify({ engine: 'AstraDB' }), { tags: { ...h.binding(ADMIN_ROLE, root), [POLICY_TAG]: 'IMMEDIATELY' } });
              const leaf = h.sm.create('leaf', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding(APP_ROLE, mid) });
              for (const arn of [mid, leaf, mid, leaf]) await h.rotate(arn);
              for (const [arn, id] of [[root, 'Root'], [mid, 'Mid'], [leaf, 'Leaf']]) stack.adopt(arn, id);
              const tokens = [h.admin.clientId, ...[mid, leaf].flatMap(liveMarked)];
              currentOrgDown();
              expectClean(await send('Delete', [root, mid, leaf]), tokens, 3);
            });
          });

          test('a never-rotated secret mid-rotation whose pending token\'s revocation fails in both rounds: its bootstrap token revokes itself in the last round', async () => {
            const [arn] = selfSecrets(1);
            const bootstrap = h.sm.valueAt(arn, 'AWSCURRENT').clientID as string;
            await h.step('createSecret', arn, h.sm.startRotation(arn));
            const [pending] = liveMarked(arn);
            h.astra.fail({ method: 'DELETE', path: new RegExp(`/v2/clientIdSecrets/${pending}$`), status: 503, times: 100 });
            const { alerts } = await send('Delete', [arn]);
            expect(h.astra.isLive(bootstrap)).toBe(false);
            expect(alerts).toEqual([expect.objectContaining({ secretArn: arn, clientIds: [pending] })]);
          });

          test('at a realistic latency (Astra 0.7 s a call, Secrets Manager 60 ms) while currentOrg is down, 245 secrets revoking at once, rotated twice: answered within Lambda\'s retries, every token revoked or named', async () => {
            process.env.ASTRA_HTTP_TIMEOUT_MS = '10000';
            const arns = selfSecrets(245, { [POLICY_TAG]: 'IMMEDIATELY' });
            for (const arn of arns) for (let n = 0; n < 2; n++) await h.rotate(arn);
            const tokens = arns.flatMap(liveMarked);
            h.astra.fail({ method: 'GET', path: /^\/v2\/currentOrg$/, status: 503, times: 100_000 });
            stack.startedAt = new Date();
            // This clock, not the enclosing describe's offset one.
            if (jest.isMockFunction(Date.now)) (Date.now as jest.Mock).mockRestore();
            const t0 = realNow();
            let waited = 0;
            const astraBefore = h.astra.requests.length;
            const smBefore = h.sm.calls.length;
            const clock = jest.spyOn(Date, 'now').mockImplementation(() => t0 + (realNow() - t0) + (h.astra.requests.length - astraBefore) * 700 + (h.sm.calls.length - smBefore) * 60 + waited);
            h.sm.mock.on(DeleteSecretCommand).callsFake((input) => {
              h.sm.calls.push({ operation: 'DeleteSecret', input });
              h.sm.secrets.delete(input.SecretId);
              return {};
            });
            try {
              // The function's 3 minutes; Lambda's retries about 1 and 2 minutes apart.
              for (const wait of [0, 60_000, 120_000]) {
                waited += wait;
                await handler(deleteRequest(arns, 'r-big'), { ...context(), getRemainingTimeInMillis: () => 180_000 }).catch(() => undefined);
                if (cfn.length) break;
              }
            } finally {
              clock.mockRestore();
            }
            expect(cfn).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
            // Each secret's list, its org unread, sends its AWSPREVIOUS token (revoked at rotation: a 401) to search: two calls a
            // secret. This clock counts every call in full, overlapping or not (the paced scale tests count overlap): whatever
            // it leaves is named.
            const named = h.lines().filter((l) => typeof l.alert === 'string').flatMap((a) => [...a.clientIds ?? [], ...a.notProvenClientIds ?? []]);
            expect(tokens.filter((c) => h.astra.isLive(c) && !named.includes(c))).toEqual([]);
          }, 60_000);

          describe('while GET /v2/currentOrg does not answer, tokens of a value writer\'s org in AWSCURRENT', () => {
            const listOnly = (...tokens: Array<{ clientId: string }>) => {
              const clients = tokens.map((t) => ({ clientId: t.clientId, roles: [ADMIN_ROLE], description: 'a writer\'s token', generatedOn: new Date().toISOString() }));
              h.astra.fail({ method: 'GET', path: /^\/v2\/clientIdSecrets$/, status: 200, body: JSON.stringify({ clients }), times: 1 });
              h.astra.fail({ method: 'GET', path: /^\/v2\/currentOrg$/, status: 503, times: 1_000 });
            };

            test('two of them, one list showing both read first: each secret\'s AWSPREVIOUS token revokes its tokens', async () => {
              const [first, second] = await rotatedTwice(2);
              const own = [first, second].flatMap(liveMarked);
              const g = h.astra.issue([ADMIN_ROLE], 'writer token G');
              const f = h.astra.issue([ADMIN_ROLE], 'writer token F');
              put(first, withToken(h.sm.valueAt(first, 'AWSCURRENT'), g));
              put(second, withToken(h.sm.valueAt(second, 'AWSCURRENT'), f));
              listOnly(f, g);
              const { answer, alerts } = await send('Delete', [first, second]);
              expect(answer.Reason).not.toMatch(/2 with every token revoked/);
              expect(unreported([first, second], own, alerts)).toEqual([]);
            });

            test('one of them, and its clientId with other hex in the other secret: that secret\'s marked tokens revoked or named to revoke', async () => {
              const [first, second] = await rotatedTwice(2);
              const f = h.astra.issue([ADMIN_ROLE], 'writer token F');
              put(first, withToken(h.sm.valueAt(first, 'AWSCURRENT'), { ...f, token: f.token.replace(/[0-9a-f]{8}$/, 'deadbeef') }));
              put(second, withToken(h.sm.valueAt(second, 'AWSCURRENT'), f));
              listOnly(f);
              const { alerts } = await send('Delete', [first, second]);
              const named = alerts.filter((a) => a.secretArn === first).flatMap((a) => a.clientIds ?? []);
              expect(liveMarked(first).filter((c) => !named.includes(c))).toEqual([]);
            });

            test('the same one in both stages: not "revoked", an alert (its own tokens, in no value and no list read, cannot be named)', async () => {
              const [arn] = await rotatedTwice(1);
              const f = h.astra.issue([ADMIN_ROLE], 'writer token F');
              const real = h.sm.valueAt(arn, 'AWSCURRENT');
              put(arn, withToken(real, f));
              put(arn, withToken(real, f));
              listOnly(f);
              const { answer, alerts } = await send('Delete', [arn]);
              expect({ reason: answer.Reason, alerts: alerts.map((a) => a.secretArn) }).toEqual({ reason: expect.stringMatching(/tokens left live for/), alerts: [arn] });
            });
          });

          test('a revocation that fails in both rounds, time up in the second while the operation is young: the authority stays for Lambda\'s retry, which revokes all', async () => {
            const [arn] = await rotatedTwice(1);
            const previous = tokensOf(arn)[1];
            const own = liveMarked(arn);
            stack.startedAt = new Date(realNow());
            const failing = new RegExp(`/v2/clientIdSecrets/${previous}$`);
            h.astra.fail({ method: 'DELETE', path: failing, status: 503, times: 1_000 });
            // The second round's attempts take the time: 1.5 s left of 100, less than two calls and the pause.
            jest.spyOn(Date, 'now').mockImplementation(() => realNow() + (h.astra.count('DELETE', failing) > 3 ? 98_500 : 0));
            const event = deleteRequest([arn], 'r-retry');
            await expect(handler(event, context())).rejects.toThrow(/Lambda's retry of the request continues/);
            expect(h.astra.isLive(previous)).toBe(true);
            // Lambda's retry, a minute later, Astra recovered.
            jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 60_000);
            h.astra.faults = [];
            await handler(event, context());
            expect({ live: own.filter((c) => h.astra.isLive(c)), alerts: h.lines().filter((l) => typeof l.alert === 'string'), escrowed: escrowed() })
              .toEqual({ live: [], alerts: [], escrowed: [] });
          });

          test('a retry after an earlier attempt revoked every secret\'s tokens: two calls a secret, no more (a dead AWSCURRENT token\'s secret tries AWSPREVIOUS\'s, once)', async () => {
            const arns = selfSecrets(30);
            for (const arn of arns) await h.rotate(arn);
            const entries = arns.map((arn) => ({ operation: operationOf(), arn, current: h.sm.valueAt(arn, 'AWSCURRENT'), previous: h.sm.valueAt(arn, 'AWSPREVIOUS'), versions: {}, held: [] }));
            h.sm.addVersion(stack.escrowArn, escrowValue(entries), ['AWSCURRENT']);
            for (const arn of arns) {
              for (const c of tokensOf(arn)) h.astra.tokens.delete(c);
              h.sm.secrets.delete(arn);
            }
            stack.startedAt = new Date(Date.now() - 60 * 60_000);
            const before = h.astra.requests.length;
            await send('Delete', arns);
            // A value writer may have put a dead token in AWSCURRENT, moving the live one to AWSPREVIOUS: that one searches its own list.
            expect(h.astra.requests.length - before).toBeLessThanOrEqual(60);
          });

          test('a retry after an earlier attempt revoked the first secrets: no alert, and no call for their dead tokens once a list of the org is read', async () => {
            const arns = selfSecrets(30);
            for (const arn of arns) await h.rotate(arn);
            for (const arn of arns.slice(0, 20)) for (const c of tokensOf(arn)) h.astra.tokens.delete(c);
            const before = h.astra.requests.length;
            const { alerts } = await send('Delete', arns);
            expect(alerts).toEqual([]);
            // A list, its org, and for each of the 10 live secrets its two revocations; the 20 dead ones cost none.
            expect(h.astra.requests.length - before).toBeLessThanOrEqual(2 + 10 * 3);
          });
        });

        test('an escrow that times out on every write: one secret an invocation waits for a retry, the others go the old way, and none is left live', async () => {
          const arns = selfSecrets(30);
          const tokens = tokensOfAll(arns);
          stack.startedAt = new Date(realNow());
          h.sm.mock.on(PutSecretValueCommand, { SecretId: stack.escrowArn }).callsFake(() => {
            offset += 8_000;
            throw Object.assign(new Error('Connection timed out after 5000 ms'), { name: 'TimeoutError' });
          });
          const event = deleteRequest(arns, 'r-outage');
          for (const wait of [0, 60_000, 120_000]) {
            offset += wait;
            await handler(event, context()).catch(() => undefined);
            if (cfn.length) break;
          }
          expect(cfn).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
          expect(arns.filter((arn, i) => h.sm.secrets.has(arn) && h.astra.isLive(tokens[i]))).toEqual([]);
        });
      });

      test('in a cleanup, the entries say their DeleteSecrets were sent before any revocation: killed while revoking, the retry revokes a deleted secret that answers AccessDenied', async () => {
        const arns = [stack.adopt(await rotatedAdminSecret('one'), 'One'), stack.adopt(await rotatedAdminSecret('two'), 'Two')];
        const tokens = arns.flatMap(tokensOf);
        for (const id of ['One', 'Two']) stack.removeFromTemplate(id);
        stack.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
        stack.startedAt = new Date();
        stack.teardown('teardown-2');
        const cleanup = deleteRequest(arns, 'r-cleanup');
        // Killed in the first secret's revocation (its admin's read), after the batch's deletions.
        const admin = h.sm.secrets.get(arns[0])!.tags.find((t) => t.Key === 'astra-token-secret:admin-secret-arn')?.Value;
        h.sm.hangNext('GetSecretValue', (x) => x.SecretId === admin);
        void handler(cleanup, context());
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(arns.map((arn) => h.sm.secrets.has(arn))).toEqual([false, false]);
        expect(h.sm.valueAt(stack.escrowArn, 'AWSCURRENT').entries.map((e: { writtenAhead?: boolean }) => !!e.writtenAhead)).toEqual([false, false]);
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
      stack.startedAt = new Date();
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
      // Time runs ten times faster than the test: Astra answers after 70 ms (0.7 s), Secrets Manager after 6 ms (60 ms),
      // the function's sleeps last a tenth of what it asks, and Astra's rate limit counts the same clock. Calls that overlap overlap in this clock too.
      const SCALE = 10;
      process.env.ASTRA_HTTP_TIMEOUT_MS = '10000';
      const arns = selfSecrets(245, tags);
      for (const arn of arns) for (let n = 0; n < 2; n++) await h.rotate(arn);
      // Every live token but the admin's: the stages' and what they still owe.
      const tokens = h.astra.everIssued.map((t) => t.clientId).filter((c) => h.astra.isLive(c) && c !== h.admin.clientId);
      expect(tokens.length).toBeGreaterThanOrEqual(outage ? 245 : 2 * 245);
      for (const method of ['GET', 'DELETE']) h.astra.faultPlan.inject({ method, path: /.*/, fault: { kind: 'delay', ms: 700 / SCALE }, times: 1_000_000 });
      if (outage) h.astra.fail({ method: 'GET', path: /^\/v2\/currentOrg$/, status: 503, times: 100_000 });
      h.sm.latencyMs = 60 / SCALE;
      h.astra.configure({ rateLimit: { callsPerSecond: 5, retryAfterSeconds: 1 } });
      stack.startedAt = new Date();
      const t0 = Date.now();
      let waited = 0;
      const realSleep = timeBudget.sleep;
      jest.spyOn(timeBudget, 'sleep').mockImplementation((ms: number) => realSleep(ms / SCALE));
      const realNow = Date.now;
      const clock = jest.spyOn(Date, 'now').mockImplementation(() => t0 + (realNow() - t0) * SCALE + waited);
      try {
        // The function's 3 minutes; Lambda's retries about 1 and 2 minutes apart.
        for (const wait of [0, 60_000, 120_000]) {
          waited += wait;
          await handler(deleteRequest(arns, 'r-paced'), { ...context(), getRemainingTimeInMillis: () => 180_000 }).catch(() => undefined);
          if (cfn.length) break;
        }
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
      const arns = [stack.adopt(await rotatedAdminSecret('one'), 'One'), stack.adopt(await rotatedAdminSecret('two'), 'Two')];
      const tokens = arns.flatMap(tokensOf);
      // An earlier operation's entry fills the escrow but for room for about one more entry.
      const filler = (bytes: number) => ({
        operation: operationOf('DELETE_IN_PROGRESS', BEFORE),
        arn: arnOf('gone-earlier'),
        versions: {},
        held: [{ clientId: 'filler', token: 'x'.repeat(bytes), versionId: 'v' }],
      });
      const room = 60_000 - Buffer.byteLength(escrowValue([filler(0)]));
      h.sm.addVersion(stack.escrowArn, escrowValue([filler(room - 2_000)]), ['AWSCURRENT']);
      const { answer, alerts } = await send('Delete', arns);
      expect(answer).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/2 of 2 secrets deleted, 2 with every token revoked/) });
      expect(alerts).toEqual([]);
      expect(h.lines().filter((l) => l.level === 'WARN' || l.level === 'ERROR')).toEqual([]);
      for (const c of tokens) expect(h.astra.isLive(c)).toBe(false);
      expect(escrowed()).toEqual([arnOf('gone-earlier')]);
    });
  });
});
