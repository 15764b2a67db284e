import { App, DefaultStackSynthesizer, Stack, aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';
import type { Template } from './template';
import { AstraTokenSecret, AstraTokenSecretProps } from '../../../../src';

/**
 * A template synthesized by a CDK app, as the model takes them: `build` adds constructs to a stack in the model's
 * account and region (123456789012, us-east-1). The synthesizer is DefaultStackSynthesizer without the bootstrap
 * version rule, so the template needs no parameter; asset locations stay literal S3 names the model never reads.
 * `app` lets a test apply app-wide settings (e.g. RemovalPolicies.of(app)) before synthesis. The template is the
 * cloud assembly's (app.synth()), with no check of its own: the model refuses what CloudFormation refuses.
 */
export function synthesize(build: (stack: Stack, app: App) => void, stackName = 'S'): Template {
  const app = new App();
  const stack = new Stack(app, stackName, {
    env: { account: '123456789012', region: 'us-east-1' },
    synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
  });
  build(stack, app);
  return app.synth().getStackByName(stack.stackName).template as Template;
}

/**
 * A stack of AstraTokenSecrets minted by one admin secret the stack imports (by ARN), each with its `secretName`, all
 * bound to `roleId`; `extra` adds what a scenario needs beside them.
 */
export type AdminMintedSecrets = Record<string, Partial<AstraTokenSecretProps> & { secretName: string }>;
export type AlongsideSecrets = (stack: Stack, made: Record<string, AstraTokenSecret>) => void;

export function adminMintedStack(
  roleId: string, stackName: string, adminArn: string, secrets: AdminMintedSecrets, extra?: AlongsideSecrets,
): Template {
  return synthesize((stack) => {
    const adminSecret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Admin', adminArn);
    const made: Record<string, AstraTokenSecret> = {};
    for (const [id, props] of Object.entries(secrets)) made[id] = new AstraTokenSecret(stack, id, { roleId, adminSecret, ...props });
    extra?.(stack, made);
  }, stackName);
}
