import { RemovalPolicies, RemovalPolicy, Stack, aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';
import { AstraEnvironment, AstraTokenSecret } from '../../src';
import { useLifecycleEnvironment } from './harness/cloudformation/lifecycle-environment';
import { createPosition, LifecycleScenario, resourceAfterTeardowns } from './harness/cloudformation/lifecycle-scenario';
import { AdminMintedSecrets, AlongsideSecrets, adminMintedStack, synthesize } from './harness/cloudformation/synth';
import type { Template } from './harness/cloudformation/template';

/**
 * The shipped bundle under CloudFormation's real lifecycle (test/e2e/harness/cloudformation): stacks synthesized from
 * this library, created, updated, rolled back and deleted phase by phase, the function reading the stack through the
 * CloudFormation API stand-in and calling Secrets Manager with its role's policy as CloudFormation last changed it.
 * After every operation the lifecycle invariants are checked: a secret that stays keeps a live token, a deleted secret
 * leaves none, no other token (an admin's) is revoked, and every custom resource request got its answer.
 *
 * The expectations are CloudFormation's. The teardown before this design failed most of them (it revoked in
 * UPDATE_IN_PROGRESS, trusted a construction-time Destroy flag, and read secrets after IAM had narrowed its role).
 */
const e = useLifecycleEnvironment();
const s = new LifecycleScenario(e);
beforeEach(() => s.begin());
afterEach(() => {
  expect(s.violationsWithEvidence()).toEqual([]);
});

let stacks = 0;
const newStackName = (label: string) => `${label}${++stacks}`;
const roles = () => e.astra.roles;

/** A stack of admin-minted AstraTokenSecrets (the admin imported), each `secretName` given, plus what `extra` adds. */
function adminMinted(stackName: string, adminArn: string, secrets: AdminMintedSecrets, extra?: AlongsideSecrets): Template {
  return adminMintedStack(roles().apiUser.id, stackName, adminArn, secrets, extra);
}

const IAM_TIMINGS = [
  ['take effect when CloudFormation reaches the policy', 0],
  ['take effect only when the operation ends (IAM propagation)', Number.POSITIVE_INFINITY],
] as const;

describe.each(IAM_TIMINGS)('removal and replacement, IAM changes %s', (_timing, iamDelay) => {
  test('a secret removed from the stack: all its tokens are revoked; the other secret and the admin token are untouched', async () => {
    const name = newStackName('Removal');
    const admin = await s.adminSecret();
    const names = { a: s.uniqueName('a'), b: s.uniqueName('b') };
    await s.step('create', 'CREATE_COMPLETE', () => e.model.createStack(name, adminMinted(name, admin.arn, { A: { secretName: names.a }, B: { secretName: names.b } })));
    await e.model.rotate(await s.arnOf(names.b));
    await s.step('update removing B', 'UPDATE_COMPLETE', () => s.withIamDelay(iamDelay, () =>
      e.model.updateStack(name, adminMinted(name, admin.arn, { A: { secretName: names.a } }))));
  });

  test('a removal rolled back by a failure after the teardown: the secret stays, and so does its live token', async () => {
    const name = newStackName('RemovalRollback');
    const admin = await s.adminSecret();
    const names = { a: s.uniqueName('a'), b: s.uniqueName('b') };
    await s.step('create', 'CREATE_COMPLETE', () => e.model.createStack(name, adminMinted(name, admin.arn, { A: { secretName: names.a }, B: { secretName: names.b } })));
    e.model.failNext({ logicalId: 'AfterTeardown' });
    await s.step('update removing B, failing after the teardown', 'UPDATE_ROLLBACK_COMPLETE', () => s.withIamDelay(iamDelay, () =>
      e.model.updateStack(name, adminMinted(name, admin.arn, { A: { secretName: names.a } }, (stack) => resourceAfterTeardowns(stack)))));
  });

  test('a secretName change replaces the secret: the old secret\'s tokens are revoked when it goes, the new one keeps its token', async () => {
    const name = newStackName('Rename');
    const admin = await s.adminSecret();
    const [before, after] = [s.uniqueName('before'), s.uniqueName('after')];
    await s.step('create', 'CREATE_COMPLETE', () => e.model.createStack(name, adminMinted(name, admin.arn, { A: { secretName: before } })));
    await s.step('update renaming A', 'UPDATE_COMPLETE', () => s.withIamDelay(iamDelay, () =>
      e.model.updateStack(name, adminMinted(name, admin.arn, { A: { secretName: after } }))));
  });

  test('a secretName change rolled back: the old secret keeps its live token, the new one\'s tokens are revoked when it goes', async () => {
    const name = newStackName('RenameRollback');
    const admin = await s.adminSecret();
    const [before, after] = [s.uniqueName('before'), s.uniqueName('after')];
    await s.step('create', 'CREATE_COMPLETE', () => e.model.createStack(name, adminMinted(name, admin.arn, { A: { secretName: before } })));
    e.model.failNext({ logicalId: 'AfterTeardown' });
    await s.step('update renaming A, failing after the teardown', 'UPDATE_ROLLBACK_COMPLETE', () => s.withIamDelay(iamDelay, () =>
      e.model.updateStack(name, adminMinted(name, admin.arn, { A: { secretName: after } }, (stack) => resourceAfterTeardowns(stack)))));
  });
});

describe('retained secrets keep their tokens', () => {
  const RETAINED_BY = {
    'the removalPolicy prop': (secrets: Record<string, AstraTokenSecret>) => void secrets,
    'RemovalPolicies.of(app).retain() on secrets': () => undefined,
    'secret.applyRemovalPolicy(RETAIN)': (secrets: Record<string, AstraTokenSecret>) => (secrets.Kept.secret as secretsmanager.Secret).applyRemovalPolicy(RemovalPolicy.RETAIN),
  } as const;
  type Way = keyof typeof RETAINED_BY;

  function template(stackName: string, adminArn: string, way: Way, names: { kept: string; other: string }, withKept = true): Template {
    return synthesize((stack, app) => {
      const adminSecret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Admin', adminArn);
      const made: Record<string, AstraTokenSecret> = {};
      made.Other = new AstraTokenSecret(stack, 'Other', { roleId: roles().apiUser.id, adminSecret, secretName: names.other });
      if (withKept) {
        made.Kept = new AstraTokenSecret(stack, 'Kept', {
          roleId: roles().apiUser.id, adminSecret, secretName: names.kept, ...(way === 'the removalPolicy prop' ? { removalPolicy: RemovalPolicy.RETAIN } : {}),
        });
      }
      if (way === 'RemovalPolicies.of(app).retain() on secrets') RemovalPolicies.of(app).retain({ applyToResourceTypes: ['AWS::SecretsManager::Secret'] });
      if (withKept) RETAINED_BY[way](made);
    }, stackName);
  }

  test.each(Object.keys(RETAINED_BY) as Way[])('retained by %s: the template says Retain', (way) => {
    const t = template('Check', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:admin-AbCdEf', way, { kept: 'k', other: 'o' });
    const kept = Object.entries(t.Resources).find(([id, r]) => id.startsWith('KeptSecret') && r.Type === 'AWS::SecretsManager::Secret')!;
    expect(kept[1].DeletionPolicy).toBe('Retain');
  });

  const combinations = (Object.keys(RETAINED_BY) as Way[]).flatMap((way) => IAM_TIMINGS.map(([timing, delay]) => [way, timing, delay] as const));
  test.each(combinations)('retained by %s: removed from the stack (IAM changes %s), the secret and its token stay', async (way, _timing, iamDelay) => {
    const name = newStackName('RetainedRemoval');
    const admin = await s.adminSecret();
    const names = { kept: s.uniqueName('kept'), other: s.uniqueName('other') };
    await s.step('create', 'CREATE_COMPLETE', () => e.model.createStack(name, template(name, admin.arn, way, names)));
    await s.step('update removing the retained secret', 'UPDATE_COMPLETE', () => s.withIamDelay(iamDelay, () =>
      e.model.updateStack(name, template(name, admin.arn, way, names, false))));
  });

  test.each(Object.keys(RETAINED_BY) as Way[])('retained by %s: the stack is deleted, the retained secret and its token stay', async (way) => {
    const name = newStackName('RetainedDeletion');
    const admin = await s.adminSecret();
    const names = { kept: s.uniqueName('kept'), other: s.uniqueName('other') };
    await s.step('create', 'CREATE_COMPLETE', () => e.model.createStack(name, template(name, admin.arn, way, names)));
    await s.step('stack deletion', 'DELETE_COMPLETE', () => e.model.deleteStack(name));
  });
});

describe('create rollback after an immediate rotation (admin mode)', () => {
  async function setUp() {
    const name = newStackName('CreateRollback');
    const admin = await s.adminSecret();
    const template = adminMinted(name, admin.arn, { A: { secretName: s.uniqueName('a'), rotateImmediatelyOnUpdate: true } }, (stack) => resourceAfterTeardowns(stack));
    return { name, template };
  }

  test('the failure comes after the teardown was created: the minted token is revoked before the secret goes', async () => {
    const { name, template } = await setUp();
    e.model.failNext({ logicalId: 'AfterTeardown' });
    await s.step('create failing after the teardown', 'ROLLBACK_COMPLETE', () => e.model.createStack(name, template));
    expect(e.model.services.rotations.slice(-1)[0]).toMatchObject({ completed: true });
  });

  test('the rollback begins before the teardown exists (a resource in parallel failed): the minted token is still revoked', async () => {
    const { name, template } = await setUp();
    e.model.failNext({ afterResources: createPosition(template, 'AstraTokenRotationTokenTeardown') });
    await s.step('create failing before the teardown', 'ROLLBACK_COMPLETE', () => e.model.createStack(name, template));
    expect(e.model.services.rotations.slice(-1)[0]).toMatchObject({ completed: true });
  });

  test('the rotation runs late, after the next resource failed: the minted token is still revoked', async () => {
    const { name, template } = await setUp();
    e.model.options.rotationTiming = 'after-next-resource';
    try {
      e.model.failNext({ afterResources: createPosition(template, 'ARotationSchedule') + 1 });
      await s.step('create failing right after the schedule', 'ROLLBACK_COMPLETE', () => e.model.createStack(name, template));
    } finally {
      e.model.options.rotationTiming = 'immediate';
    }
    expect(e.model.services.rotations.slice(-1)[0]).toMatchObject({ completed: true });
  });
});

describe('admin chains', () => {
  /** root (minted by the imported admin) -> mid (minted by root) -> leaf (minted by mid), each rotated once. */
  async function chain(withLeaf = true) {
    const name = newStackName('Chain');
    const admin = await s.adminSecret();
    const names = { root: s.uniqueName('root'), mid: s.uniqueName('mid'), leaf: s.uniqueName('leaf') };
    const template = (leaf: boolean) => synthesize((stack) => {
      const imported = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Admin', admin.arn);
      const root = new AstraTokenSecret(stack, 'Root', { roleId: roles().orgAdmin.id, adminSecret: imported, secretName: names.root });
      const mid = new AstraTokenSecret(stack, 'Mid', { roleId: roles().dbAdmin.id, adminSecret: root.secret, secretName: names.mid });
      if (leaf) new AstraTokenSecret(stack, 'Leaf', { roleId: roles().apiUser.id, adminSecret: mid.secret, secretName: names.leaf });
    }, name);
    await s.step('create', 'CREATE_COMPLETE', () => e.model.createStack(name, template(withLeaf)));
    // mid and leaf do not rotate at deploy (their admin may have no token yet): their schedule's first rotation.
    for (const n of withLeaf ? [names.mid, names.leaf] : [names.mid]) {
      expect(await e.model.rotate(await s.arnOf(n))).toMatchObject({ completed: true });
    }
    await e.invariants.check('after the first scheduled rotations');
    return { name, template, names };
  }

  test('root -> mid -> leaf, the stack deleted: every token of the three is revoked', async () => {
    const { name } = await chain();
    await s.step('stack deletion', 'DELETE_COMPLETE', () => e.model.deleteStack(name));
  });

  test('root -> mid -> leaf, the leaf removed: its tokens are revoked, root\'s and mid\'s stay', async () => {
    const { name, template } = await chain();
    await s.step('update removing the leaf', 'UPDATE_COMPLETE', () => e.model.updateStack(name, template(false)));
  });

  test('root -> mid -> leaf, the stack deleted while Secrets Manager refuses the leaf: all three keep live tokens; the retry revokes them', async () => {
    const { name, names } = await chain();
    const leaf = await s.arnOf(names.leaf);
    e.deletions.refuse(leaf);
    const failed = await e.model.deleteStack(name);
    expect(failed.status).toBe('DELETE_FAILED');
    await e.invariants.check('stack deletion, the leaf refused');
    for (const n of Object.values(names)) expect(await s.arnOf(n)).toBeDefined();
    e.deletions.allow(leaf);
    await s.step('retried stack deletion', 'DELETE_COMPLETE', () => e.model.deleteStack(name));
  });

  test('root -> mid -> leaf removed by an update while Secrets Manager refuses the leaf: the leaf leaves the stack whole, mid and root go with their tokens (adversarial review)', async () => {
    const name = newStackName('ChainCleanup');
    const admin = await s.adminSecret();
    const names = { root: s.uniqueName('root'), mid: s.uniqueName('mid'), leaf: s.uniqueName('leaf'), other: s.uniqueName('other') };
    const template = (withChain: boolean) => synthesize((stack) => {
      const imported = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Admin', admin.arn);
      // Keeps the rotation function, and its teardown, in the stack after the chain leaves.
      new AstraTokenSecret(stack, 'Other', { roleId: roles().apiUser.id, adminSecret: imported, secretName: names.other });
      if (!withChain) return;
      const root = new AstraTokenSecret(stack, 'Root', { roleId: roles().orgAdmin.id, adminSecret: imported, secretName: names.root });
      const mid = new AstraTokenSecret(stack, 'Mid', { roleId: roles().dbAdmin.id, adminSecret: root.secret, secretName: names.mid });
      new AstraTokenSecret(stack, 'Leaf', { roleId: roles().apiUser.id, adminSecret: mid.secret, secretName: names.leaf });
    }, name);
    await s.step('create', 'CREATE_COMPLETE', () => e.model.createStack(name, template(true)));
    for (const n of [names.mid, names.leaf]) expect(await e.model.rotate(await s.arnOf(n))).toMatchObject({ completed: true });
    await e.invariants.check('after the first scheduled rotations');
    e.deletions.refuse(await s.arnOf(names.leaf));
    await s.step('update removing the chain, the leaf refused', 'UPDATE_COMPLETE', () => e.model.updateStack(name, template(false)));
    expect(await s.arnOf(names.leaf)).toBeDefined();
    expect(s.alerts()).toEqual([expect.objectContaining({ alert: 'TokensLeftLiveOnDeletion', secretArn: await s.arnOf(names.leaf) })]);
  });

  describe.each([['template', 'template'], ['reverse template', 'reverse-template']] as const)('order of independent resources: %s', (_label, tieBreak) => {
    test('an admin secret on another rotation function (another astraApiUrl), the stack deleted: every token is revoked', async () => {
      const name = newStackName('CrossFunction');
      const admin = await s.adminSecret();
      const names = { x: s.uniqueName('x'), y: s.uniqueName('y') };
      const template = synthesize((stack) => {
        const imported = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Admin', admin.arn);
        const x = new AstraTokenSecret(stack, 'X', { roleId: roles().orgAdmin.id, adminSecret: imported, secretName: names.x });
        new AstraTokenSecret(stack, 'Y', { roleId: roles().apiUser.id, adminSecret: x.secret, secretName: names.y, astraEnvironment: AstraEnvironment.DEV });
      }, name);
      expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function')).toHaveLength(2);
      e.model.options.tieBreak = tieBreak;
      try {
        await s.step('create', 'CREATE_COMPLETE', () => e.model.createStack(name, template));
        expect(await e.model.rotate(await s.arnOf(names.y))).toMatchObject({ completed: true });
        await s.step('stack deletion', 'DELETE_COMPLETE', () => e.model.deleteStack(name));
      } finally {
        e.model.options.tieBreak = 'template';
      }
    });
  });
});

describe('a secret moved to another rotation function (its astraApiUrl changed)', () => {
  function template(name: string, adminArn: string, secretName: string, environment: AstraEnvironment, failAfterTeardowns = false): Template {
    const extra = failAfterTeardowns ? (stack: Stack) => resourceAfterTeardowns(stack) : undefined;
    return adminMinted(name, adminArn, { S: { secretName, astraEnvironment: environment } }, extra);
  }

  test('the move succeeds: the secret keeps a live token, no token is revoked by the function it left', async () => {
    const name = newStackName('Move');
    const admin = await s.adminSecret();
    const secretName = s.uniqueName('moved');
    await s.step('create', 'CREATE_COMPLETE', () => e.model.createStack(name, template(name, admin.arn, secretName, AstraEnvironment.PROD)));
    await s.step('update moving S to the DEV function', 'UPDATE_COMPLETE', () => e.model.updateStack(name, template(name, admin.arn, secretName, AstraEnvironment.DEV)));
    await s.step('stack deletion', 'DELETE_COMPLETE', () => e.model.deleteStack(name));
  });

  test('the move rolled back: the new function\'s teardown is deleted in the rollback cleanup and revokes nothing of the secret that stays', async () => {
    const name = newStackName('MoveRollback');
    const admin = await s.adminSecret();
    const secretName = s.uniqueName('moved');
    await s.step('create', 'CREATE_COMPLETE', () => e.model.createStack(name, template(name, admin.arn, secretName, AstraEnvironment.PROD)));
    e.model.failNext({ logicalId: 'AfterTeardown' });
    await s.step('update moving S, failing after the teardowns', 'UPDATE_ROLLBACK_COMPLETE', () =>
      e.model.updateStack(name, template(name, admin.arn, secretName, AstraEnvironment.DEV, true)));
    const deletes = e.model.services.exchanges.filter((x) => x.stackName === name && x.requestType === 'Delete');
    expect(deletes.map((x) => x.phase)).toEqual(['UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS']);
  });
});

describe('stack deletion', () => {
  function template(name: string, adminArn: string, names: { a: string; b: string; self: string }): Template {
    return adminMinted(name, adminArn, { A: { secretName: names.a }, B: { secretName: names.b } }, (stack) => {
      new AstraTokenSecret(stack, 'Self', { roleId: roles().dbAdmin.id, secretName: names.self });
    });
  }

  async function setUp(label: string) {
    const name = newStackName(label);
    const admin = await s.adminSecret();
    const names = { a: s.uniqueName('a'), b: s.uniqueName('b'), self: s.uniqueName('self') };
    await s.step('create', 'CREATE_COMPLETE', () => e.model.createStack(name, template(name, admin.arn, names)));
    await s.bootstrap(names.self, roles().dbAdmin.id);
    expect(await e.model.rotate(await s.arnOf(names.self))).toMatchObject({ completed: true });
    await e.invariants.check('after bootstrapping and rotating Self');
    return { name, names };
  }

  test('every destroyed secret\'s tokens are revoked, admin-minted and self-rotating', async () => {
    const { name } = await setUp('Deletion');
    await s.step('stack deletion', 'DELETE_COMPLETE', () => e.model.deleteStack(name));
  });

  /**
   * The function deletes a secret before it revokes its tokens, so a stack deletion that fails after the teardown ran
   * leaves no secret with a dead token: those the teardown deleted are gone with their tokens, the others untouched.
   */
  test('a deletion that fails half-way (DELETE_FAILED) after the teardown ran: no secret is left with a dead token, and a retry finishes', async () => {
    const { name, names } = await setUp('DeletionRetry');
    const secretB = e.model.logicalIdsOf(name, 'AWS::SecretsManager::Secret').find((id) => id.startsWith('BSecret'))!;
    e.model.failNext({ logicalId: secretB, action: 'delete' });
    const failed = await e.model.deleteStack(name);
    expect(failed.status).toBe('DELETE_FAILED');
    await e.invariants.check('stack deletion failing at B');
    expect(e.invariants.takeViolations()).toEqual([]);
    await expect(s.arnOf(names.b)).rejects.toThrow(/can't find|not found/i);
    await s.step('retried stack deletion', 'DELETE_COMPLETE', () => e.model.deleteStack(name));
  });

  /**
   * A secret Secrets Manager will not delete (replica regions): CloudFormation's deletion of it would fail too, so the
   * function leaves it with its live tokens and fails its request; the teardown outlives the failed deletion, and the
   * deletion retried once the cause is gone revokes them.
   */
  test('a secret Secrets Manager will not delete: it keeps its live token, the deletion fails at the teardown, and the retry revokes', async () => {
    const { name, names } = await setUp('DeletionRefused');
    const arnB = (await s.arnOf(names.b))!;
    e.deletions.refuse(arnB);
    const failed = await e.model.deleteStack(name);
    expect(failed.status).toBe('DELETE_FAILED');
    await e.invariants.check('stack deletion refused at B');
    expect(e.invariants.takeViolations()).toEqual([]);
    expect(await s.arnOf(names.b)).toBe(arnB);
    expect(e.model.logicalIdsOf(name, 'Custom::AstraTokenTeardown')).toHaveLength(1);
    e.deletions.allow(arnB);
    await s.step('retried stack deletion', 'DELETE_COMPLETE', () => e.model.deleteStack(name));
  });
});

/**
 * The revocation authority's half of the lifecycle: an invocation is evidence of nothing. Requests shaped as
 * CloudFormation's, sent to the deployed function while its stack is not deleting anything (anyone allowed
 * lambda:InvokeFunction can send them), revoke nothing, write an ERROR alert line, and answer only a CloudFormation
 * response URL.
 */
describe('forged requests to a deployed function', () => {
  async function deployed() {
    const name = newStackName('Forged');
    const admin = await s.adminSecret();
    const names = { a: s.uniqueName('a'), b: s.uniqueName('b') };
    await s.step('create', 'CREATE_COMPLETE', () => e.model.createStack(name, adminMinted(name, admin.arn, { A: { secretName: names.a }, B: { secretName: names.b } })));
    for (const secretName of Object.values(names)) expect(await e.model.rotate(await s.arnOf(secretName))).toMatchObject({ completed: true });
    const stack = e.model.stack(name);
    const teardown = e.model.logicalIdsOf(name, 'Custom::AstraTokenTeardown')[0];
    const resource = stack.resources.get(teardown)!;
    const fn = e.fleet.definition(String(resource.properties.ServiceToken))!;
    return { name, stack, teardown, physicalId: resource.physicalId, fn, arns: [await s.arnOf(names.a), await s.arnOf(names.b)] };
  }

  function forged(d: Awaited<ReturnType<typeof deployed>>, requestType: 'Delete' | 'Update', overrides: Record<string, unknown> = {}) {
    const requestId = `forged-${++stacks}`;
    return {
      requestId,
      event: {
        RequestType: requestType,
        ServiceToken: d.fn.arn,
        ResponseURL: e.recorder.url(requestId),
        StackId: d.stack.id,
        RequestId: requestId,
        LogicalResourceId: d.teardown,
        PhysicalResourceId: d.physicalId,
        ResourceType: 'Custom::AstraTokenTeardown',
        ResourceProperties: { ServiceToken: d.fn.arn, Secrets: d.arns.map((Arn) => ({ Arn })) },
        ...requestType === 'Update' ? { OldResourceProperties: { ServiceToken: d.fn.arn, Secrets: d.arns.map((Arn) => ({ Arn })) } } : {},
        ...overrides,
      },
    };
  }

  const alertsSince = (from: number) => e.logs.lines.slice(from).flatMap((l) => (l.startsWith('{') ? [JSON.parse(l)] : [])).filter((l) => l.alert);

  test.each([
    ['Delete of the current teardown while the stack is CREATE_COMPLETE', 'Delete', {}],
    ['Delete of a former physical id while the stack is CREATE_COMPLETE', 'Delete', { PhysicalResourceId: 'AstraTokenTeardown-old' }],
    ['Update while the stack is CREATE_COMPLETE', 'Update', {}],
  ] as const)('%s: nothing revoked, every token live', async (_what, requestType, overrides) => {
    const d = await deployed();
    const from = e.logs.lines.length;
    const { requestId, event } = forged(d, requestType, overrides);
    await e.fleet.invoke(d.fn, event);
    await e.invariants.check('after the forged request');
    expect(e.recorder.answerTo(requestId)?.body).toMatchObject({ Status: 'SUCCESS' });
    if (requestType === 'Delete') {
      expect(alertsSince(from)).toEqual([expect.objectContaining({ alert: 'TeardownNotConfirmedByCloudFormation', stackId: d.stack.id })]);
    } else {
      // An Update revokes nothing in any phase: it only answers a new physical id.
      expect(alertsSince(from)).toEqual([]);
    }
  });

  test('a Delete naming another stack, really being deleted: refused, the function acts only for its own stack', async () => {
    const d = await deployed();
    const other = newStackName('Other');
    await s.step('another stack', 'CREATE_COMPLETE', () => e.model.createStack(other, synthesize((stack) => {
      new secretsmanager.Secret(stack, 'Unrelated');
    }, other)));
    const from = e.logs.lines.length;
    e.model.stack(other).setStatus('DELETE_IN_PROGRESS');
    try {
      const { event } = forged(d, 'Delete', { StackId: e.model.stack(other).id });
      await e.fleet.invoke(d.fn, event);
    } finally {
      e.model.stack(other).setStatus('CREATE_COMPLETE');
    }
    await e.invariants.check('after the forged request');
    expect(alertsSince(from)).toEqual([expect.objectContaining({ alert: 'TeardownNotConfirmedByCloudFormation', message: expect.stringMatching(/not the function's own stack/) })]);
  });

  test('a forged Delete whose ResponseURL is not CloudFormation\'s is never answered there', async () => {
    const d = await deployed();
    const { requestId, event } = forged(d, 'Delete', { ResponseURL: 'https://attacker.example/collect' });
    await e.fleet.invoke(d.fn, event);
    await e.invariants.check('after the forged request');
    expect(e.recorder.answerTo(requestId)).toBeUndefined();
  });
});
