import { randomBytes } from 'node:crypto';
import { CreateSecretCommand, DeleteSecretCommand, DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { CfnDeletionPolicy, CfnResource, RemovalPolicy, aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';
import { useLifecycleEnvironment } from './lifecycle-environment';
import { synthesize } from './synth';
import type { DeletionPolicy, Template } from './template';

/**
 * DeletionPolicy and UpdateReplacePolicy of AWS::SecretsManager::Secret as CloudFormation applies them: on removal
 * from the stack, on stack deletion, on a create rollback (where RetainExceptOnCreate deletes), and on replacement.
 * Deletion is at once, with no recovery window.
 */
const e = useLifecycleEnvironment();

let counter = 0;
const uniqueName = (label: string) => `policy-${label}-${++counter}-${randomBytes(3).toString('hex')}`;

interface SecretSpec {
  readonly name: string;
  readonly deletionPolicy?: DeletionPolicy;
  readonly updateReplacePolicy?: DeletionPolicy;
}

/** Secrets with fixed logical ids, a no-op `Anchor` so that the stack never empties, and a `Failing` one if asked. */
function secretsTemplate(secrets: Record<string, SecretSpec>, failingAfterSecrets = false): Template {
  return synthesize((stack) => {
    const anchor = new CfnResource(stack, 'Anchor', { type: 'AWS::SSM::Parameter', properties: { Value: 'anchor' } });
    anchor.overrideLogicalId('Anchor');
    const made: CfnResource[] = [];
    for (const [id, spec] of Object.entries(secrets)) {
      const secret = new secretsmanager.Secret(stack, id, { secretName: spec.name, removalPolicy: RemovalPolicy.DESTROY });
      const cfn = secret.node.defaultChild as secretsmanager.CfnSecret;
      cfn.overrideLogicalId(id);
      if (spec.deletionPolicy) cfn.cfnOptions.deletionPolicy = spec.deletionPolicy as CfnDeletionPolicy;
      if (spec.updateReplacePolicy) cfn.cfnOptions.updateReplacePolicy = spec.updateReplacePolicy as CfnDeletionPolicy;
      made.push(cfn);
    }
    if (failingAfterSecrets) {
      const failing = new CfnResource(stack, 'Failing', { type: 'AWS::SSM::Parameter', properties: { Value: 'failing' } });
      failing.overrideLogicalId('Failing');
      for (const m of made) failing.addDependency(m);
    }
  });
}

async function exists(name: string): Promise<boolean> {
  try {
    await e.sm.send(new DescribeSecretCommand({ SecretId: name }));
    return true;
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') return false;
    throw err;
  }
}

async function existence(names: Record<string, string>): Promise<Record<string, boolean>> {
  const out: Record<string, boolean> = {};
  for (const [k, name] of Object.entries(names)) out[k] = await exists(name);
  return out;
}

const FOUR_POLICIES: Record<string, DeletionPolicy> = { Deleted: 'Delete', Retained: 'Retain', Snapshotted: 'Snapshot', RetainedExceptOnCreate: 'RetainExceptOnCreate' };

function fourSecrets(): { specs: Record<string, SecretSpec>; names: Record<string, string> } {
  const specs = Object.fromEntries(Object.entries(FOUR_POLICIES)
    .map(([id, policy]) => [id, { name: uniqueName(id.toLowerCase()), deletionPolicy: policy }]));
  return { specs, names: Object.fromEntries(Object.entries(specs).map(([id, s]) => [id, s.name])) };
}

test('removed from the stack: Delete goes in the cleanup phase, at once (the name is free again); Retain, Snapshot and RetainExceptOnCreate keep it', async () => {
  const { specs, names } = fourSecrets();
  await e.model.createStack('Removal', secretsTemplate(specs));
  const result = await e.model.updateStack('Removal', secretsTemplate({}));
  expect(result.status).toBe('UPDATE_COMPLETE');
  expect(await existence(names)).toEqual({ Deleted: false, Retained: true, Snapshotted: true, RetainedExceptOnCreate: true });
  const cleanup = result.events.filter((ev) => ev.stackStatus === 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS' && ev.type === 'AWS::SecretsManager::Secret');
  expect(cleanup.map((ev) => `${ev.logicalId} ${ev.status}`).sort()).toEqual([
    'Deleted DELETE_COMPLETE', 'Deleted DELETE_IN_PROGRESS', 'Retained DELETE_SKIPPED', 'RetainedExceptOnCreate DELETE_SKIPPED', 'Snapshotted DELETE_SKIPPED',
  ]);
  // No recovery window: a new secret can take the name at once.
  const again = await e.sm.send(new CreateSecretCommand({ Name: names.Deleted, SecretString: 'x' }));
  await e.sm.send(new DeleteSecretCommand({ SecretId: again.ARN, ForceDeleteWithoutRecovery: true }));
});

test('create rollback: Retain and Snapshot keep the secret, RetainExceptOnCreate and Delete delete it', async () => {
  const { specs, names } = fourSecrets();
  e.model.failNext({ logicalId: 'Failing' });
  const result = await e.model.createStack('CreateRollback', secretsTemplate(specs, true));
  expect(result.status).toBe('ROLLBACK_COMPLETE');
  expect(await existence(names)).toEqual({ Deleted: false, Retained: true, Snapshotted: true, RetainedExceptOnCreate: false });
  expect((await e.model.deleteStack('CreateRollback')).status).toBe('DELETE_COMPLETE');
});

test('stack deletion: Retain, Snapshot and RetainExceptOnCreate give DELETE_SKIPPED, Delete deletes', async () => {
  const { specs, names } = fourSecrets();
  await e.model.createStack('StackDeletion', secretsTemplate(specs));
  const result = await e.model.deleteStack('StackDeletion');
  expect(result.status).toBe('DELETE_COMPLETE');
  expect(await existence(names)).toEqual({ Deleted: false, Retained: true, Snapshotted: true, RetainedExceptOnCreate: true });
});

test('a new Name replaces the secret: the new one is made in UPDATE_IN_PROGRESS, the old one goes in the cleanup unless UpdateReplacePolicy keeps it', async () => {
  const [a1, a2, b1, b2] = ['a1', 'a2', 'b1', 'b2'].map(uniqueName);
  await e.model.createStack('Replacement', secretsTemplate({ A: { name: a1 }, B: { name: b1, updateReplacePolicy: 'Retain' } }));
  const oldArn = e.model.physicalId('Replacement', 'A');
  const result = await e.model.updateStack('Replacement', secretsTemplate({ A: { name: a2 }, B: { name: b2, updateReplacePolicy: 'Retain' } }));
  expect(result.status).toBe('UPDATE_COMPLETE');
  expect(await existence({ a1, a2, b1, b2 })).toEqual({ a1: false, a2: true, b1: true, b2: true });
  expect(result.events.filter((ev) => ev.logicalId === 'A').map((ev) => `${ev.stackStatus} ${ev.status} ${ev.physicalId === oldArn ? 'old' : 'new'}`)).toEqual([
    'UPDATE_IN_PROGRESS UPDATE_IN_PROGRESS new',
    'UPDATE_IN_PROGRESS UPDATE_COMPLETE new',
    'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS DELETE_IN_PROGRESS old',
    'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS DELETE_COMPLETE old',
  ]);
});

test('a replacement rolled back: the new secret is deleted in the rollback cleanup, the old one is the stack\'s again', async () => {
  const [a1, a2] = ['a1', 'a2'].map(uniqueName);
  await e.model.createStack('ReplacementRollback', secretsTemplate({ A: { name: a1 } }));
  const oldArn = e.model.physicalId('ReplacementRollback', 'A');
  e.model.failNext({ logicalId: 'Failing' });
  const result = await e.model.updateStack('ReplacementRollback', secretsTemplate({ A: { name: a2 } }, true));
  expect(result.status).toBe('UPDATE_ROLLBACK_COMPLETE');
  expect(await existence({ a1, a2 })).toEqual({ a1: true, a2: false });
  expect(e.model.physicalId('ReplacementRollback', 'A')).toBe(oldArn);
});
