import { App, Aspects, Stack, aws_lambda as lambda } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ROLE_ID } from './fixtures';
import { AstraTokenSecret } from '../../src';

// Its own file: naming a runtime adds it to aws-cdk-lib's Runtime.ALL for the rest of the process, as a release
// that names nodejs24.x before its regional fact answers it (aws-cdk-lib 2.224 to 2.258) does.
new lambda.Runtime('nodejs24.x', lambda.RuntimeFamily.NODEJS, { supportsInlineCode: true });

function l1Findings(stack: Stack): string[] {
  Aspects.of(stack).add(new AwsSolutionsChecks());
  return [
    ...Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-L1')),
    ...Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-L1')),
  ].map((f) => f.id);
}

test('a function on the regional runtime is a cdk-nag AwsSolutions-L1 finding once aws-cdk-lib names a newer one', () => {
  // GIVEN
  const stack = new Stack(new App(), 'Plain', { env: { region: 'eu-west-1' } });
  // WHEN
  new lambda.Function(stack, 'Fn', { runtime: lambda.determineLatestNodeRuntime(stack), handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => {};') });
  // THEN
  expect(l1Findings(stack)).toEqual(['/Plain/Fn/Resource']);
});

test('the rotation function keeps aws-cdk-lib\'s regional runtime and acknowledges AwsSolutions-L1 with both names', () => {
  // GIVEN
  const stack = new Stack(new App(), 'Tokens', { env: { region: 'eu-west-1' } });
  // WHEN
  new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
  // THEN
  const [fn] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
  expect(fn.Properties.Runtime).toBe('nodejs22.x');
  expect(fn.Metadata.cdk_nag.rules_to_suppress).toContainEqual({
    id: 'AwsSolutions-L1',
    reason: expect.stringMatching(/runs nodejs22\.x, the newest Node\.js runtime .*determineLatestNodeRuntime.*names nodejs24\.x/),
  });
  expect(l1Findings(stack)).toEqual([]);
});
