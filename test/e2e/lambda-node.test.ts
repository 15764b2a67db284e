import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { FunctionHost } from './harness/function-host';
import { LogCapture } from './harness/log-capture';
import { BUNDLE_PATH } from './harness/rotation-driver';
import { AstraTokenSecret } from '../../src';
import { lambdaNode } from '../support/lambda-node';

const ROLE_ID = '11111111-2222-4333-8444-555555555555';

/** The Node.js major of the rotation function that the installed aws-cdk-lib (the dev pin) synthesizes. */
function synthesizedNodeMajor(region: string): number {
  const stack = new Stack(new App(), 'Runtime', { env: { account: '123456789012', region } });
  new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
  const [fn] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
  return Number(/^nodejs(\d+)\.x$/.exec(String(fn.Properties.Runtime))?.[1]);
}

describe('GIVEN the function synthesized at the dev pin, WHEN the harness runs the shipped bundle', () => {
  test('THEN it runs on the Node.js major of the synthesized Runtime, not on the test runner\'s', async () => {
    // The harness's region (us-east-1): the runtime is the one determineLatestNodeRuntime answers there.
    const major = synthesizedNodeMajor('us-east-1');
    expect(lambdaNode().major).toBe(major);
    const host = new FunctionHost(BUNDLE_PATH, new LogCapture({ keep: false }));
    try {
      const version = await host.nodeVersion();
      expect(version).toBe(lambdaNode().version);
      expect(version.startsWith(`v${major}.`)).toBe(true);
    } finally {
      await host.stop();
    }
  });

  test('THEN a missing binary is an error that says how to install it, or how to point at another', () => {
    expect(() => lambdaNode({ LAMBDA_NODE: '/nonexistent/node' })).toThrow(/npx projen install:lambda-node.*LAMBDA_NODE/);
  });
});
