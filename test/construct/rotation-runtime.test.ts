import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { ROLE_ID } from './fixtures';
import { AstraTokenSecret } from '../../src';

// The tests build against aws-cdk-lib 2.221.0, the peer minimum: its determineLatestNodeRuntime answers nodejs22.x in
// every region it knows, and its newest runtime constant is NODEJS_22_X.

function stackIn(region?: string): Stack {
  return new Stack(new App(), 'TestStack', region ? { env: { account: '123456789012', region } } : {});
}

function runtimeOf(stack: Stack): unknown {
  const [fn] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
  return fn.Properties.Runtime;
}

describe('the rotation function\'s runtime', () => {
  test.each([
    ['a region-agnostic stack', undefined],
    ['a stack in us-east-1', 'us-east-1'],
    ['a stack in ap-southeast-5', 'ap-southeast-5'],
    ['a stack in cn-north-1', 'cn-north-1'],
    // aws-cdk-lib's default for a region missing from its facts.
    ['a stack in a region the installed aws-cdk-lib does not know', 'xx-future-1'],
  ])('is the one aws-cdk-lib answers for %s, as a literal', (_, region) => {
    // GIVEN
    const stack = stackIn(region);
    // WHEN
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    // THEN
    expect(runtimeOf(stack)).toBe('nodejs22.x');
    expect(Template.fromStack(stack).toJSON().Mappings).toBeUndefined();
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
  });

  test('acknowledges no cdk-nag finding when aws-cdk-lib names no newer Node.js runtime', () => {
    const stack = stackIn('eu-west-1');
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    const [fn] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
    const acknowledged = (fn.Metadata?.cdk_nag?.rules_to_suppress ?? []).map((r: { id: string }) => r.id);
    expect(acknowledged).not.toContain('AwsSolutions-L1');
  });
});
