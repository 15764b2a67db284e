import { ownershipMark, parseMark } from '../../../lambda/rotation/ownership-mark';

describe('ownership marks', () => {
  const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/orders/astra-token-AbCdEf';
  const version = '0d6f2b7e-1c1e-4a57-9a55-3b0f8f0f2c11';

  test('name the secret by a digest of its ARN, the version, and the ARN\'s readable tail', () => {
    expect(ownershipMark(arn, version)).toBe(
      'cdk-astra-token-secret secret=af8d827e81c8bf6e version=0d6f2b7e-1c1e-4a57-9a55-3b0f8f0f2c11 123456789012:eu-west-1:prod/orders/astra-token-AbCdEf');
    expect(parseMark(ownershipMark(arn, version))).toEqual({ secretDigest: 'af8d827e81c8bf6e', version });
  });

  test('name the invocation that minted, when given; marks made before that parse without it', () => {
    const mark = ownershipMark(arn, version, '5e1b09aa');
    expect(mark).toBe(
      'cdk-astra-token-secret secret=af8d827e81c8bf6e version=0d6f2b7e-1c1e-4a57-9a55-3b0f8f0f2c11 mint=5e1b09aa 123456789012:eu-west-1:prod/orders/astra-token-AbCdEf');
    expect(parseMark(mark)).toEqual({ secretDigest: 'af8d827e81c8bf6e', version, mint: '5e1b09aa' });
    expect(parseMark(ownershipMark(arn, version))).not.toHaveProperty('mint');
    expect(() => ownershipMark(arn, version, 'not-hex!')).toThrow(/8 hex digits/);
  });

  test('one name in two accounts or regions gets two different marks', () => {
    const marks = [arn, arn.replace('123456789012', '210987654321'), arn.replace('eu-west-1', 'us-east-1')].map((a) => parseMark(ownershipMark(a, version))!.secretDigest);
    expect(new Set(marks).size).toBe(3);
  });

  test('stay within 200 characters however long the name, and still parse', () => {
    const long = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${'n'.repeat(512)}-AbCdEf`;
    const mark = ownershipMark(long, 'v'.repeat(64));
    expect(mark.length).toBeLessThanOrEqual(200);
    expect(mark.endsWith('…')).toBe(true);
    expect(parseMark(mark)).toEqual({ secretDigest: expect.stringMatching(/^[0-9a-f]{16}$/), version: 'v'.repeat(64) });
  });

  test('a secret id that is not an ARN is kept whole; a version too long for any name leaves the name out', () => {
    expect(ownershipMark('astra/app-token', 'v1')).toMatch(/^cdk-astra-token-secret secret=[0-9a-f]{16} version=v1 astra\/app-token$/);
    const mark = ownershipMark(arn, 'v'.repeat(190));
    expect(mark).toHaveLength(200);
    expect(mark).not.toContain('123456789012');
  });

  test('descriptions that are not marks parse to nothing', () => {
    for (const d of [undefined, '', 'admin token', 'cdk-astra-token-secret app-token 0d6f', 'cdk-astra-token-secret secret=XYZ version=1']) {
      expect(parseMark(d)).toBeUndefined();
    }
  });
});
