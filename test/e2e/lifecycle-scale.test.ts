import { AstraTokenSecret } from '../../src';
import { useLifecycleEnvironment } from './harness/cloudformation/lifecycle-environment';
import { LifecycleScenario } from './harness/cloudformation/lifecycle-scenario';
import { synthesize } from './harness/cloudformation/synth';

/**
 * A stack of 245 self-rotating secrets (the most one function serves), each holding its bootstrap token,
 * deleted while Astra admits 5 calls per second. CloudFormation sends the one teardown of their rotation function one
 * Delete; every token must be revoked before the secrets go, within the function's own timeout (the template's).
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
  for (let i = 0; i < SECRETS; i++) await s.bootstrap(`${prefix}-${i}`, roleId);
  await e.invariants.check('after the bootstrap tokens');

  await e.astra.setRateLimit(CALLS_PER_SECOND);
  const started = Date.now();
  try {
    await s.step('stack deletion', 'DELETE_COMPLETE', () => e.model.deleteStack('Scale'));
  } finally {
    await e.astra.setRateLimit(undefined);
  }
  const [teardown] = e.model.services.exchanges.filter((x) => x.stackName === 'Scale' && x.requestType === 'Delete');
  process.stdout.write(`scale: deletion took ${((Date.now() - started) / 1000).toFixed(1)} s; the teardown's Delete: `
    + `${teardown?.invocations} invocation(s), answer ${teardown?.answer?.Status ?? 'none'} (${teardown?.answer?.Reason ?? ''})\n`);
  expect(s.violationsWithEvidence()).toEqual([]);
}, 15 * 60_000);
