import { aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';
import { AstraTokenSecret } from '../../src';
import { useLifecycleEnvironment } from './harness/cloudformation/lifecycle-environment';
import { LifecycleScenario } from './harness/cloudformation/lifecycle-scenario';
import { synthesize } from './harness/cloudformation/synth';
import type { Template } from './harness/cloudformation/template';

/**
 * From the adversarial review: a secret last deployed before the astra-token-secret:deletion-policy tag existed (the previous
 * release's template: the same template without that tag), removed by the first deploy of this release. CloudFormation
 * deletes it (DeletionPolicy Delete); docs/rotation-design.md says "No tag: not revoked, reported".
 */
const e = useLifecycleEnvironment();
const s = new LifecycleScenario(e);

function withoutDeletionPolicyTag(t: Template): Template {
  const copy = JSON.parse(JSON.stringify(t)) as Template;
  for (const r of Object.values(copy.Resources)) {
    if (r.Type === 'AWS::SecretsManager::Secret' && Array.isArray((r.Properties as any)?.Tags)) {
      (r.Properties as any).Tags = (r.Properties as any).Tags.filter((x: any) => x.Key !== 'astra-token-secret:deletion-policy');
    }
  }
  return copy;
}

test('removed secret without the deletion-policy tag: its live tokens are reported by an ERROR alert', async () => {
  s.begin();
  const admin = await s.adminSecret();
  const [a, b] = [s.uniqueName('a'), s.uniqueName('b')];
  const t = (withB: boolean) => synthesize((stack) => {
    const adminSecret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Admin', admin.arn);
    new AstraTokenSecret(stack, 'A', { roleId: e.astra.roles.apiUser.id, adminSecret, secretName: a });
    if (withB) new AstraTokenSecret(stack, 'B', { roleId: e.astra.roles.apiUser.id, adminSecret, secretName: b });
  }, 'Untagged');
  await s.step('create (previous release: no deletion-policy tag)', 'CREATE_COMPLETE', () => e.model.createStack('Untagged', withoutDeletionPolicyTag(t(true))));
  const bArn = await s.arnOf(b);
  expect(await e.model.rotate(bArn)).toMatchObject({ completed: true });
  const from = e.logs.lines.length;
  await e.model.updateStack('Untagged', t(false));
  await e.invariants.check('after removing B');
  const v = s.violationsWithEvidence();
  const lines = e.logs.stepLines(from).filter((l) => l.secretArn === bArn).map((l) => `${l.level} ${l.alert ?? ''} ${l.outcome ?? l.message}`);
  process.stdout.write(`lines about B:\n${lines.join('\n')}\nviolations:\n${v.join('\n')}\n`);
  const alerts = e.logs.stepLines(from).filter((l) => l.alert && l.secretArn === bArn);
  expect(alerts.length).toBeGreaterThan(0);
});
