import { CustomResourceEvent, isCustomResourceEvent, leavingSecrets } from '../../lambda/teardown';

const arn = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
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
  const a = { Arn: arn('a'), Destroy: 'true' };
  const b = { Arn: arn('b'), Destroy: 'true' };
  const kept = { Arn: arn('kept'), Destroy: 'false' };

  test('Create: none', () => {
    expect(leavingSecrets(event('Create', [a, b]))).toEqual([]);
  });

  test('Delete: every secret whose removal policy destroys it, never a retained one', () => {
    expect(leavingSecrets(event('Delete', [a, kept, b])).map((s) => s.arn)).toEqual([arn('a'), arn('b')]);
  });

  test('Update: the destroyed secrets no longer listed; a retained one leaving, or one switched to RETAIN, is not revoked', () => {
    expect(leavingSecrets(event('Update', [b], [a, kept, b])).map((s) => s.arn)).toEqual([arn('a')]);
    expect(leavingSecrets(event('Update', [{ ...a, Destroy: 'false' }, b], [a, b]))).toEqual([]);
  });

  test('CloudFormation\'s strings and JSON booleans both count; malformed entries are ignored', () => {
    expect(leavingSecrets(event('Delete', [{ Arn: arn('x'), Destroy: true }, { Destroy: 'true' }, 'junk', null]))).toEqual([{ arn: arn('x'), destroy: true }]);
    expect(leavingSecrets(event('Delete', 'not a list'))).toEqual([]);
  });
});

test('isCustomResourceEvent tells CloudFormation\'s requests from Secrets Manager\'s rotation events', () => {
  expect(isCustomResourceEvent(event('Delete', []))).toBe(true);
  expect(isCustomResourceEvent({ Step: 'createSecret', SecretId: arn('a'), ClientRequestToken: 'v' })).toBe(false);
  expect(isCustomResourceEvent(null)).toBe(false);
});
