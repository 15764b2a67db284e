import * as fs from 'fs';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';

const ROOT = path.resolve(__dirname, '..', '..');

function codeLines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('//') && !l.startsWith('import ') && !l.startsWith('export '));
}

test('the README\'s TypeScript example is examples/minimal.ts, at most 10 lines', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const example = /```ts\n([\s\S]*?)```/.exec(readme)![1];
  expect(example).toContain("from 'cdk-astra-token-secret'");
  expect(example.trim().split('\n').length).toBeLessThanOrEqual(10);
  expect(codeLines(example)).toEqual(codeLines(fs.readFileSync(path.join(ROOT, 'examples', 'minimal.ts'), 'utf8')));
});

test('GIVEN the README\'s example, WHEN it is synthesized, THEN it holds one token secret bound to its role and admin secret, and its schedule', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { token } = require('../../examples/minimal');
  const template = Template.fromStack(Stack.of(token));
  // The token secret and the teardown's escrow.
  template.resourceCountIs('AWS::SecretsManager::Secret', 2);
  template.hasResourceProperties('AWS::SecretsManager::Secret', {
    Tags: Match.arrayWith([
      Match.objectLike({ Key: 'astra-token-secret:admin-secret-arn' }),
      { Key: 'astra-token-secret:role-id', Value: '7a3c9d2e-41b5-4f8a-9c6d-2e8b1f0a5d47' },
    ]),
  });
  template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 1);
});
