import { Aspects } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, NagSuppressions } from 'cdk-nag';
import { representativeStack } from './fixtures';

test('cdk-nag AwsSolutions finds nothing the library or the app has not acknowledged with a reason', () => {
  // GIVEN
  const stack = representativeStack();
  // The app's own admin secret is stored by hand and rotated by its owner, not by this library.
  NagSuppressions.addResourceSuppressionsByPath(stack, '/AstraTokens/AstraAdminToken/Resource', [
    { id: 'AwsSolutions-SMG4', reason: 'The admin token is created by a person in the Astra portal and replaced by hand.' },
  ]);
  NagSuppressions.addResourceSuppressionsByPath(stack, '/AstraTokens/Vpc/SecretsManager/SecurityGroup/Resource', [
    { id: 'CdkNagValidationFailure', reason: 'The endpoint admits the VPC\'s own CIDR, which cdk-nag cannot resolve at synth time.' },
  ]);
  // WHEN
  Aspects.of(stack).add(new AwsSolutionsChecks({ verbose: true }));
  // THEN
  const errors = Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'));
  const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'));
  expect([...errors, ...warnings].map((f) => `${f.id}: ${String(f.entry.data).split('\n')[0]}`)).toEqual([]);
});
