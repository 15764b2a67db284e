import { regionOf } from '../../lambda/secret-store';

describe('regionOf', () => {
  test('regionOf: AWS_REGION, then AWS_DEFAULT_REGION, then the ARN\'s', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:x-AbCdEf';
    expect(regionOf(arn, { AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'us-west-2' })).toBe('us-east-1');
    expect(regionOf(arn, { AWS_DEFAULT_REGION: 'us-west-2' })).toBe('us-west-2');
    expect(regionOf(arn, {})).toBe('eu-west-3');
    expect(regionOf('astra/app-token', {})).toBeUndefined();
  });
});
