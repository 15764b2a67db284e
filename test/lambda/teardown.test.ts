import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { awsError } from './support/fake-secrets-manager';
import { Harness } from './support/harness';
import { handler } from '../../lambda';
import { CustomResourceEvent, isCustomResourceEvent, leavingSecrets } from '../../lambda/teardown';

const arnOf = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
const event = (requestType: CustomResourceEvent['RequestType'], secrets: unknown, oldSecrets?: unknown): CustomResourceEvent => ({
  RequestType: requestType,
  ResponseURL: 'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x',
  StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/S/1',
  RequestId: 'r1',
  LogicalResourceId: 'Teardown',
  ResourceProperties: { Secrets: secrets },
  OldResourceProperties: oldSecrets === undefined ? undefined : { Secrets: oldSecrets },
});

describe('leavingSecrets: whose tokens a teardown request revokes', () => {
  const a = { Arn: arnOf('a'), Destroy: 'true' };
  const b = { Arn: arnOf('b'), Destroy: 'true' };
  const kept = { Arn: arnOf('kept'), Destroy: 'false' };

  test('Create: none', () => {
    expect(leavingSecrets(event('Create', [a, b]))).toEqual([]);
  });

  test('Delete: every secret whose removal policy destroys it, never a retained one', () => {
    expect(leavingSecrets(event('Delete', [a, kept, b])).map((s) => s.arn)).toEqual([arnOf('a'), arnOf('b')]);
  });

  test('Update: the destroyed secrets no longer listed; a retained one leaving, or one switched to RETAIN, is not revoked', () => {
    expect(leavingSecrets(event('Update', [b], [a, kept, b])).map((s) => s.arn)).toEqual([arnOf('a')]);
    expect(leavingSecrets(event('Update', [{ ...a, Destroy: 'false' }, b], [a, b]))).toEqual([]);
  });

  test('CloudFormation\'s strings and JSON booleans both count; malformed entries are ignored', () => {
    expect(leavingSecrets(event('Delete', [{ Arn: arnOf('x'), Destroy: true }, { Destroy: 'true' }, 'junk', null]))).toEqual([{ arn: arnOf('x'), destroy: true }]);
    expect(leavingSecrets(event('Delete', 'not a list'))).toEqual([]);
  });
});

test('isCustomResourceEvent tells CloudFormation\'s requests from Secrets Manager\'s rotation events', () => {
  expect(isCustomResourceEvent(event('Delete', []))).toBe(true);
  expect(isCustomResourceEvent({ Step: 'createSecret', SecretId: arnOf('a'), ClientRequestToken: 'v' })).toBe(false);
  expect(isCustomResourceEvent(null)).toBe(false);
});

describe('the teardown request, served by the handler', () => {
  const h = new Harness();
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
    cfn.length = 0;
  });
  afterEach(() => {
    h.assertNoSecretMaterial();
    h.tearDown();
  });

  const THIS_FUNCTION = 'arn:aws:lambda:us-east-1:123456789012:function:rotation';
  const context = (remainingMs = 120_000) => ({ invokedFunctionArn: `${THIS_FUNCTION}:$LATEST`, getRemainingTimeInMillis: () => remainingMs });
  const respondTo = () => `http://127.0.0.1:${(responses.address() as AddressInfo).port}/response`;
  const remove = async (arns: string[], options: { responseUrl?: string; remainingMs?: number } = {}) => {
    await handler({ ...event('Delete', arns.map((a) => ({ Arn: a, Destroy: 'true' }))), ResponseURL: options.responseUrl ?? respondTo() }, context(options.remainingMs));
    return { answer: cfn[cfn.length - 1], alerts: h.lines().filter((l) => l.alert === 'TokensLeftLiveOnDeletion') };
  };
  const rotated = (arn: string) => {
    h.sm.secrets.get(arn)!.rotationLambdaArn = THIS_FUNCTION;
    return arn;
  };

  test('an admin-minted secret: AWSCURRENT\'s, AWSPREVIOUS\'s and an abandoned rotation\'s tokens are revoked; SUCCESS', async () => {
    const { arn } = h.adminSecret();
    rotated(arn);
    await h.rotate(arn);
    await h.rotate(arn);
    await h.step('createSecret', arn, h.sm.startRotation(arn));
    h.sm.removeStage(arn, 'AWSPENDING');
    const before = h.astra.tokens.size;
    const { answer, alerts } = await remove([arn]);
    expect(answer).toMatchObject({ Status: 'SUCCESS', RequestId: 'r1', PhysicalResourceId: 'Teardown-astra-token-teardown' });
    expect(alerts).toEqual([]);
    // The admin token and nothing else is left.
    expect(before - h.astra.tokens.size).toBe(3);
    expect([...h.astra.tokens.keys()]).toEqual([h.admin.clientId]);
  });

  test('a self-rotating secret: its other tokens first, then its last token revokes itself', async () => {
    const { arn } = h.selfSecret();
    rotated(arn);
    await h.rotate(arn);
    const last = h.sm.valueAt(arn, 'AWSCURRENT').clientID;
    await remove([arn]);
    const deletes = h.astra.requests.filter((r) => r.method === 'DELETE');
    expect(deletes[deletes.length - 1]).toMatchObject({ path: `/v2/clientIdSecrets/${last}`, bearerClientId: last });
    expect(h.astra.tokens.size).toBe(1);
  });

  test('skipped, with SUCCESS: a secret that is gone, one another function rotates, one that holds no token', async () => {
    const moved = h.adminSecret().arn;
    h.sm.secrets.get(moved)!.rotationLambdaArn = 'arn:aws:lambda:us-east-1:123456789012:function:another';
    const empty = rotated(h.sm.create('empty', JSON.stringify({ engine: 'AstraDB' }), { tags: h.binding('11111111-2222-4333-8444-555555555555') }));
    const before = h.astra.tokens.size;
    const { answer, alerts } = await remove([moved, empty, 'arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf']);
    expect(answer.Status).toBe('SUCCESS');
    expect(alerts).toEqual([]);
    expect(h.astra.tokens.size).toBe(before);
    expect(h.lines().filter((l) => l.step === 'teardown').map((l) => l.outcome)).toEqual(expect.arrayContaining([
      'skipped: another function rotates the secret now', 'skipped: the secret holds no token', 'skipped: the secret no longer exists',
    ]));
  });

  test.each([
    ['no role tag', (arn: string) => { h.sm.secrets.get(arn)!.tags = []; }, /no tag astra-token-secret:role-id/],
    ['an unreadable admin secret', (arn: string) => { h.sm.secrets.get(arn)!.tags.find((t) => t.Key === 'astra-token-secret:admin-secret-arn')!.Value = `${arn}x`; },
      /admin secret .* could not be read|has no AWSCURRENT/],
    ['a token list Astra refuses', () => h.astra.fail({ method: 'GET', path: /^\/v2\/clientIdSecrets$/, status: 403, times: 10 }), /token list could not be read/],
    ['revocations Astra refuses', () => h.astra.fail({ method: 'DELETE', path: /^\/v2\/clientIdSecrets\//, status: 403, times: 10 }), /some revocations failed/],
  ])('%s: SUCCESS all the same, and an ERROR alert line saying what is left', async (_what, breakIt, why) => {
    const { arn } = h.adminSecret();
    rotated(arn);
    await h.rotate(arn);
    breakIt(arn);
    const { answer, alerts } = await remove([arn]);
    expect(answer).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/tokens left live for/) });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ level: 'ERROR', secretArn: arn, message: expect.stringMatching(why) });
  });

  test('out of time: the secrets not reached are reported left live', async () => {
    const { arn } = h.adminSecret();
    rotated(arn);
    const { alerts } = await remove([arn], { remainingMs: 20_100 }); // 100 ms past the 20 s margin: less than one Astra call's timeout
    expect(alerts[0].message).toMatch(/ran out of time/);
  });

  test('a broken configuration never blocks the deletion: SUCCESS, with the reason', async () => {
    process.env.ASTRA_API_URL = 'http://api.astra.datastax.com';
    const { answer, alerts } = await remove([h.adminSecret().arn]);
    expect(answer).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/teardown failed: .*ASTRA_API_URL .* must use https/) });
    expect(alerts).toHaveLength(1);
  });

  test('an answer CloudFormation\'s URL refuses three times is logged: CloudFormation would otherwise wait in silence', async () => {
    const refusing = createServer((_req, res) => res.writeHead(403).end('expired'));
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    try {
      await remove([], { responseUrl: `http://127.0.0.1:${(refusing.address() as AddressInfo).port}/r` });
    } finally {
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
    }
    expect(h.lines().find((l) => l.outcome === 'not answered')!.error).toMatch(/failed 3 times: HTTP 403/);
  });

  test('a secret whose description fails (not "not found") is reported left live', async () => {
    const { arn } = h.adminSecret();
    h.sm.failNext('DescribeSecret', awsError('AccessDeniedException', 'not allowed', 'client', 403));
    const { alerts } = await remove([arn]);
    expect(alerts[0].message).toMatch(/could not be described .*AccessDeniedException/);
  });

  test('a ResponseURL that is not https (or loopback) is not answered', async () => {
    await remove([], { responseUrl: 'http://example.com/response' });
    expect(cfn).toEqual([]);
    expect(h.lines().find((l) => l.outcome === 'not answered')!.error).toMatch(/not https/);
  });
});
