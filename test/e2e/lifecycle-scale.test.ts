import { AstraTokenSecret } from '../../src';
import { useLifecycleEnvironment } from './harness/cloudformation/lifecycle-environment';
import { LifecycleScenario } from './harness/cloudformation/lifecycle-scenario';
import { synthesize } from './harness/cloudformation/synth';

/**
 * A stack of 245 self-rotating secrets (the most one function serves), each holding its bootstrap token,
 * deleted while Astra admits 5 calls per second. CloudFormation sends the one teardown of their rotation function one
 * Delete; every token must be revoked before the secrets go, within the function's own timeout (the template's). Each
 * secret is deleted before its tokens are revoked, through the escrow, whose versions Secrets Manager's quota limits
 * (the stand-in refuses a version past 100): none goes the old way (tokens first), which a failed deletion would leave dead.
 */
const SECRETS = 245;
const CALLS_PER_SECOND = 5;

const e = useLifecycleEnvironment();
const s = new LifecycleScenario(e);

test(`${SECRETS} secrets, the stack deleted under ${CALLS_PER_SECOND} Astra calls per second: every token revoked`, async () => {
  s.begin();
  const roleId = e.astra.roles.dbAdmin.id;
  const prefix = s.uniqueName('scale');
  const template = synthesize((stack) => {
    for (let i = 0; i < SECRETS; i++) new AstraTokenSecret(stack, `T${i}`, { roleId, secretName: `${prefix}-${i}` });
  }, 'Scale');
  await s.step('create', 'CREATE_COMPLETE', () => e.model.createStack('Scale', template));
  const [teardownId] = e.model.logicalIdsOf('Scale', 'Custom::AstraTokenTeardown');
  const escrow = e.model.physicalId('Scale', (template.Resources[teardownId].Properties as { Escrow: { Ref: string } }).Escrow.Ref);
  for (let i = 0; i < SECRETS; i++) await s.bootstrap(`${prefix}-${i}`, roleId);
  await e.invariants.check('after the bootstrap tokens');

  await e.astra.setRateLimit(CALLS_PER_SECOND);
  const [started, logsBefore, decisionsBefore] = [Date.now(), e.logs.lines.length, e.iamProxy.decisions.length];
  try {
    await s.step('stack deletion', 'DELETE_COMPLETE', () => e.model.deleteStack('Scale'));
  } finally {
    await e.astra.setRateLimit(undefined);
  }
  function escrowWrites() {
    return e.iamProxy.decisions.slice(decisionsBefore).filter((d) => d.action === 'secretsmanager:PutSecretValue' && d.resource === escrow);
  }
  const [teardown] = e.model.services.exchanges.filter((x) => x.stackName === 'Scale' && x.requestType === 'Delete');
  process.stdout.write(`scale: deletion took ${((Date.now() - started) / 1000).toFixed(1)} s; the teardown's Delete: `
    + `${teardown?.invocations} invocation(s), answer ${teardown?.answer?.Status ?? 'none'} (${teardown?.answer?.Reason ?? ''}); `
    + `${escrowWrites().length} escrow writes\n`);
  expect(s.violationsWithEvidence()).toEqual([]);
  expect(e.logs.stepLines(logsBefore).filter((l) => l.level === 'WARN' || l.level === 'ERROR')).toEqual([]);
  expect(escrowWrites().length).toBeLessThan(50);
}, 15 * 60_000);
