import { randomBytes } from 'node:crypto';
import { DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { RemovalPolicy, aws_secretsmanager as secretsmanager, CfnResource } from 'aws-cdk-lib';
import { AstraTokenSecret } from '../../src';
import { useLifecycleEnvironment } from './harness/cloudformation/lifecycle-environment';
import { LifecycleScenario, resourceAfterTeardowns } from './harness/cloudformation/lifecycle-scenario';
import { AdminMintedSecrets, AlongsideSecrets, adminMintedStack, synthesize } from './harness/cloudformation/synth';
import type { Template } from './harness/cloudformation/template';

/**
 * From the adversarial review: forged custom-resource Deletes sent by a principal with lambda:InvokeFunction only, timed to
 * land while a REAL CloudFormation operation is in a committed phase (stack deletion, update cleanup, rollback
 * cleanup). The forged request is sent just before CloudFormation's own request to the teardown in that phase.
 */
const e = useLifecycleEnvironment();
const s = new LifecycleScenario(e);
beforeEach(() => s.begin());

let stacks = 0;
const newStackName = (label: string) => `${label}${++stacks}`;
const roles = () => e.astra.roles;

type Forge = (real: Record<string, any>) => Record<string, any> | undefined;

/** Wraps the fleet so that, when CloudFormation's own teardown request arrives in `phase`, a forged one goes first. */
function forgeBefore(stackName: string, phase: string, forge: Forge) {
  const fleet = e.fleet;
  const original = fleet.invoke.bind(fleet);
  let fired = 0;
  const forgedIds: string[] = [];
  (fleet as any).invoke = async (fn: any, event: any) => {
    const stack = e.model.stacks().find((x) => x.name === stackName && x.status !== 'DELETE_COMPLETE');
    if (!fired && stack && stack.status === phase && event?.ResourceType === 'Custom::AstraTokenTeardown' && !String(event.RequestId).startsWith('forged')) {
      fired += 1;
      const forged = forge(event);
      if (forged) {
        forgedIds.push(forged.RequestId);
        try {
          await original(fn, forged);
        } catch (err) {
          forgedIds.push(`threw: ${(err as Error).message}`);
        }
      }
    }
    return original(fn, event);
  };
  return {
    restore: () => { (fleet as any).invoke = original; },
    fired: () => fired,
    forgedIds,
  };
}

/** A stack of admin-minted AstraTokenSecrets (the admin imported), each `secretName` given, plus what `extra` adds. */
function adminMinted(stackName: string, adminArn: string, secrets: AdminMintedSecrets, extra?: AlongsideSecrets): Template {
  return adminMintedStack(roles().apiUser.id, stackName, adminArn, secrets, extra);
}

const alertsSince = (from: number) => e.logs.lines.slice(from).flatMap((l) => (l.startsWith('{') ? [JSON.parse(l)] : [])).filter((l) => l.alert);

test('A1: forged Delete during a real stack deletion listing only the chain root (before the real teardown): every token still revoked', async () => {
  const name = newStackName('ForgedChainDeletion');
  const admin = await s.adminSecret();
  const names = { root: s.uniqueName('root'), mid: s.uniqueName('mid'), leaf: s.uniqueName('leaf') };
  const template = synthesize((stack) => {
    const imported = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Admin', admin.arn);
    const root = new AstraTokenSecret(stack, 'Root', { roleId: roles().orgAdmin.id, adminSecret: imported, secretName: names.root });
    const mid = new AstraTokenSecret(stack, 'Mid', { roleId: roles().dbAdmin.id, adminSecret: root.secret, secretName: names.mid });
    new AstraTokenSecret(stack, 'Leaf', { roleId: roles().apiUser.id, adminSecret: mid.secret, secretName: names.leaf });
  }, name);
  await s.step('create', 'CREATE_COMPLETE', () => e.model.createStack(name, template));
  for (const n of [names.mid, names.leaf]) expect(await e.model.rotate(await s.arnOf(n))).toMatchObject({ completed: true });
  await e.invariants.check('after rotations');
  expect(e.invariants.takeViolations()).toEqual([]);
  const rootArn = await s.arnOf(names.root);

  const from = e.logs.lines.length;
  const hook = forgeBefore(name, 'DELETE_IN_PROGRESS', (real) => ({
    ...real,
    RequestId: 'forged-a1',
    ResponseURL: e.recorder.url('forged-a1'),
    ResourceProperties: { ...real.ResourceProperties, Secrets: [{ Arn: rootArn }] },
  }));
  let result;
  try {
    result = await e.model.deleteStack(name);
  } finally {
    hook.restore();
  }
  expect(hook.fired()).toBe(1);
  expect(result.status).toBe('DELETE_COMPLETE');
  await e.invariants.check('stack deletion with a forged Delete naming only the root');
  const violations = s.violationsWithEvidence();
  const alerts = alertsSince(from).map((a) => `${a.alert} ${String(a.secretArn ?? '').split(':').pop()} ${JSON.stringify(a.clientIds ?? [])}`);
  process.stdout.write(`A1 alerts:\n${alerts.join('\n')}\nA1 violations:\n${violations.join('\n')}\n`);
  expect(violations).toEqual([]);
}, 120_000);

describe('forged Delete during a real update rollback cleanup, naming a secret the stack retained earlier', () => {
  const WAYS = {
    'RETAIN_ON_UPDATE_OR_DELETE, removed from the stack': { policy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE, how: 'remove' },
    'RETAIN_ON_UPDATE_OR_DELETE, replaced by a secretName change': { policy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE, how: 'rename' },
    'UpdateReplacePolicy Retain by override (DeletionPolicy Delete), replaced': { policy: undefined, how: 'rename-override' },
    'RETAIN (both policies), replaced': { policy: RemovalPolicy.RETAIN, how: 'rename' },
  } as const;

  test.each(Object.keys(WAYS) as Array<keyof typeof WAYS>)('%s: the retained secret keeps its live token', async (way) => {
    const { policy, how } = WAYS[way];
    const name = newStackName('ForgedRollbackCleanup');
    const admin = await s.adminSecret();
    const names = { other: s.uniqueName('other'), kept: s.uniqueName('kept'), kept2: s.uniqueName('kept2'), added: s.uniqueName('added') };
    const t = (opts: { kept?: string; added?: boolean; fail?: boolean }) => adminMinted(name, admin.arn, {
      Other: { secretName: names.other },
      ...(opts.kept ? { Kept: { secretName: opts.kept, ...(policy ? { removalPolicy: policy } : {}) } } : {}),
      ...(opts.added ? { Added: { secretName: names.added } } : {}),
    }, (stack, made) => {
      if (how === 'rename-override' && made.Kept) {
        (made.Kept.secret.node.defaultChild as CfnResource).addOverride('UpdateReplacePolicy', 'Retain');
      }
      if (opts.fail) resourceAfterTeardowns(stack);
    });
    await s.step('create', 'CREATE_COMPLETE', () => e.model.createStack(name, t({ kept: names.kept })));
    const keptArn = await s.arnOf(names.kept);
    expect(await e.model.rotate(keptArn)).toMatchObject({ completed: true });
    // U1: the retained secret leaves the stack (removal or replacement), and stays in the account with its live token.
    const u1 = how === 'remove' ? t({}) : t({ kept: names.kept2 });
    await s.step('update retaining the secret', 'UPDATE_COMPLETE', () => e.model.updateStack(name, u1));
    expect(await s.arnOf(keptArn)).toBe(keptArn);
    expect(s.violationsWithEvidence()).toEqual([]);

    // An earlier operation is seconds or days older in life; here, at least the second of slack the function allows
    // between Secrets Manager's and CloudFormation's clocks.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    // U2: an unrelated update that fails after the teardowns; during its rollback cleanup, the forged Delete.
    e.model.failNext({ logicalId: 'AfterTeardown' });
    const from = e.logs.lines.length;
    const hook = forgeBefore(name, 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', (real) => ({
      ...real,
      RequestId: 'forged-a2',
      ResponseURL: e.recorder.url('forged-a2'),
      LogicalResourceId: 'NoSuchResource',
      PhysicalResourceId: 'made-up',
      ResourceProperties: { ...real.ResourceProperties, Secrets: [{ Arn: keptArn }] },
    }));
    try {
      const u2 = how === 'remove' ? t({ added: true, fail: true }) : t({ kept: names.kept2, added: true, fail: true });
      await s.step('failing update', 'UPDATE_ROLLBACK_COMPLETE', () => e.model.updateStack(name, u2));
    } finally {
      hook.restore();
    }
    expect(hook.fired()).toBe(1);
    const lines = e.logs.stepLines(from).filter((l) => l.secretArn === keptArn).map((l) => `${l.step} ${l.outcome} ${JSON.stringify(l.clientIds)}`);
    process.stdout.write(`A2 [${way}] lines about the retained secret:\n${lines.join('\n')}\nalerts: ${JSON.stringify(alertsSince(from).map((a) => a.alert))}\n`);
    expect(s.violationsWithEvidence()).toEqual([]);
  }, 180_000);
});

test('A3: forged Delete during a real update cleanup, naming a secret retained by an earlier replacement (UpdateReplacePolicy Retain) after its successor\'s policy became DESTROY', async () => {
  const name = newStackName('ForgedUpdateCleanup');
  const admin = await s.adminSecret();
  const names = { kept: s.uniqueName('kept'), kept2: s.uniqueName('kept2'), added: s.uniqueName('added') };
  const t = (secretName: string, policy: RemovalPolicy, added = false) => adminMinted(name, admin.arn, {
    Kept: { secretName, removalPolicy: policy },
    ...(added ? { Added: { secretName: names.added } } : {}),
  });
  await s.step('create', 'CREATE_COMPLETE', () => e.model.createStack(name, t(names.kept, RemovalPolicy.RETAIN)));
  const keptArn = await s.arnOf(names.kept);
  expect(await e.model.rotate(keptArn)).toMatchObject({ completed: true });
  await s.step('rename: the old secret is retained', 'UPDATE_COMPLETE', () => e.model.updateStack(name, t(names.kept2, RemovalPolicy.RETAIN)));
  expect(s.violationsWithEvidence()).toEqual([]);
  const hook = forgeBefore(name, 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', (real) => ({
    ...real,
    RequestId: 'forged-a3',
    ResponseURL: e.recorder.url('forged-a3'),
    ResourceProperties: { ...real.ResourceProperties, Secrets: [{ Arn: keptArn }] },
  }));
  await new Promise((resolve) => setTimeout(resolve, 1_100)); // an earlier operation: see above
  try {
    await s.step('successor now DESTROY, a secret added', 'UPDATE_COMPLETE', () => e.model.updateStack(name, t(names.kept2, RemovalPolicy.DESTROY, true)));
  } finally {
    hook.restore();
  }
  expect(hook.fired()).toBe(1);
  expect(await s.arnOf(keptArn)).toBe(keptArn);
  expect(s.violationsWithEvidence()).toEqual([]);
}, 180_000);

test('Z: no credential in any log line, answer or invocation error', async () => {
  const env = e as any;
  const texts = [
    ...env.logs.lines, ...env.recorder.answers.map((a: any) => a.raw),
    ...env.model.services.exchanges.flatMap((x: any) => x.invocationErrors),
  ];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { leaks } = require('./harness/cloudformation/credential-leaks');
  expect(await leaks(env.astra, texts)).toEqual([]);
});


/** PutSecretValue as AWS does it (moto leaves AWSCURRENT on the version UpdateSecretVersionStage promoted). */
async function putCurrent(arn: string, secretString: string): Promise<void> {
  const before = Object.entries((await e.sm.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages!).find(([, l]) => l.includes('AWSCURRENT'))![0];
  const put = await e.sm.send(new PutSecretValueCommand({ SecretId: arn, VersionStages: ['AWSCURRENT'], SecretString: secretString }));
  const after = (await e.sm.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages!;
  if (before !== put.VersionId && after[before]?.includes('AWSCURRENT')) {
    await e.sm.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'AWSCURRENT', RemoveFromVersionId: before }));
  }
  const final = (await e.sm.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages!;
  expect(Object.values(final).filter((l) => l.includes('AWSCURRENT'))).toHaveLength(1);
}

test('A4: value writer forgeries (extended owed list with hints, forged astraKey in a self-rotating secret), then a real stack deletion: bystanders stay live', async () => {
  const name = newStackName('ValueWriterDeletion');
  const admin = await s.adminSecret();
  const names = { a: s.uniqueName('a'), self: s.uniqueName('self') };
  const template = adminMinted(name, admin.arn, { A: { secretName: names.a } }, (stack) => {
    new AstraTokenSecret(stack, 'Self', { roleId: roles().dbAdmin.id, secretName: names.self });
  });
  await s.step('create', 'CREATE_COMPLETE', () => e.model.createStack(name, template));
  await s.bootstrap(names.self, roles().dbAdmin.id);
  for (const n of [names.a, names.self, names.a, names.self]) expect(await e.model.rotate(await s.arnOf(n))).toMatchObject({ completed: true });
  expect(s.violationsWithEvidence()).toEqual([]);
  const victims = [await e.astra.seedToken(roles().orgAdmin.id, 'bystander 1'), await e.astra.seedToken(roles().orgAdmin.id, 'bystander 2')];
  const aArn = await s.arnOf(names.a);
  const selfArn = await s.arnOf(names.self);
  const read = async (arn: string) => JSON.parse((await e.sm.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSCURRENT' }))).SecretString!);
  const stages = (await e.sm.send(new DescribeSecretCommand({ SecretId: aArn }))).VersionIdsToStages!;
  const prev = Object.keys(stages).find((v) => stages[v].includes('AWSPREVIOUS'))!;
  const aValue = await read(aArn);
  // A: the owed list extended (hint at a real version). moto keeps AWSCURRENT on the old version too: fix it as putCurrent does.
  await putCurrent(aArn, JSON.stringify({
    ...aValue,
    pendingRevocations: [victims[0].clientId],
    pendingRevocationVersions: { [victims[0].clientId]: prev },
  }));
  // Self: a forged astraKey naming bystander 2 (the real token is pushed to AWSPREVIOUS).
  const selfValue = await read(selfArn);
  await putCurrent(selfArn, JSON.stringify({ ...selfValue, astraKey: `AstraCS:${victims[1].clientId}:${randomBytes(32).toString('hex')}`, clientID: victims[1].clientId }));
  const from = e.logs.lines.length;
  await e.model.deleteStack(name);
  await e.invariants.check('deletion after forgeries');
  const v = s.violationsWithEvidence();
  const alerts = alertsSince(from).map((a) => `${a.alert} ${String(a.secretArn ?? '').split(':').pop()} ${JSON.stringify(a.clientIds ?? [])}`);
  process.stdout.write(`A4 victims: ${victims.map((x) => x.clientId).join(' ')}\n`); process.stdout.write(`A4 alerts: ${alerts.join(' | ')}\nA4 violations: ${v.filter((x) => !x.startsWith('  ')).join('\n')}\n`);
  for (const victim of victims) expect(await e.astra.isLive(victim.token)).toBe(true);
  // No alert may tell a person to revoke a token the rule refused to call the secret's (another team's).
  const named = alertsSince(from).flatMap((a) => (a.clientIds as string[] | undefined) ?? []);
  expect(named.filter((c) => victims.some((x) => x.clientId === c))).toEqual([]);
}, 120_000);
