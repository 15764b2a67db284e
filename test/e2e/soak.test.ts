import { useE2EEnvironment } from './harness/e2e-environment';
import { closedLoopbackPort } from './harness/free-port';
import { KillPoint } from './harness/kill-switch';
import { StepName, STEPS, SimulatedCrash } from './harness/rotation-driver';
import { checkedRotation } from './harness/scenario';
import { RotatedSecret } from './harness/secrets-fixture';
import { SeededRandom } from './harness/seeded-random';
import { FaultKind } from '../support/astra/fault-plan';

const ROTATIONS = Number(process.env.SOAK_ROTATIONS ?? 300);
const e = useE2EEnvironment('e2e-soak');

const KILL_POINTS: KillPoint[] = ['before-send', 'after-processed'];
const ASTRA_CALLS = [
  ['POST', '/v2/clientIdSecrets'],
  ['GET', '/v2/clientIdSecrets'],
  ['GET', '/v2/currentOrg'],
  ['DELETE', '/v2/clientIdSecrets/*'],
] as const;
// Retry-After 0 keeps the soak fast; the 429 scenario with a real Retry-After is in astra-faults.test.ts.
const ASTRA_FAULTS: FaultKind[] = [
  { kind: 'status', status: 500 },
  { kind: 'status', status: 503 },
  { kind: 'status', status: 429, retryAfterSeconds: 0 },
  { kind: 'delay', ms: 400 },
  { kind: 'drop' },
  { kind: 'lose-answer', how: 'drop' },
  { kind: 'lose-answer', how: 'hold', ms: 600 },
  { kind: 'plain-text', status: 500, message: 'upstream error' },
  { kind: 'plain-text', status: 403, message: 'Forbidden' },
];

test(`soak: ${ROTATIONS} seeded random rotations with random faults, invariants checked throughout`, async () => {
  const seed = process.env.SOAK_SEED ? Number(process.env.SOAK_SEED) : Math.floor(Math.random() * 2 ** 31);
  process.stdout.write(`soak seed ${seed} (replay with SOAK_SEED=${seed})\n`);
  const random = new SeededRandom(seed);
  const started = Date.now();
  const closed = `http://127.0.0.1:${await closedLoopbackPort()}`;

  const admin = await e.secrets.createAdminSecret();
  const secrets: RotatedSecret[] = [
    await e.secrets.createRotatedSecret({ mode: 'self' }),
    await e.secrets.createRotatedSecret({ mode: 'self', policyTag: 'IMMEDIATELY' }),
    await e.secrets.createRotatedSecret({ mode: 'admin', rootarn: admin.arn }),
    await e.secrets.createRotatedSecret({ mode: 'admin', rootarn: admin.arn, policyTag: 'IMMEDIATELY' }),
    await e.secrets.createRotatedSecret({ mode: 'admin', rootarn: admin.arn, overrides: { engine: 'Astra', application: undefined, owner: undefined } }),
    await e.secrets.createRotatedSecret({ mode: 'self', roleId: e.astra.roles.tokenManager.id, policyTag: 'AT_NEXT_ROTATION' }),
  ];

  let faults = 0;
  let completed = 0;
  let abandoned = 0;
  for (let i = 0; i < ROTATIONS; i++) {
    const secret = random.pick(secrets);
    const firedBefore = (await e.astra.faultState()).fired;
    // At most one disturbance per rotation, armed at a random step of the first attempt.
    const disturbance = random.pick(['none', 'astra', 'astra', 'astra', 'crash', 'kill', 'kill', 'secrets-manager'] as const);
    // A kill falls at any of the function's outgoing calls of the rotation, before it leaves or after it was processed.
    const killAt = 1 + random.int(16);
    const killPoint = random.pick(KILL_POINTS);
    const at: StepName = random.pick(STEPS);
    const astraCall = random.pick(ASTRA_CALLS);
    const astraFault = random.pick(ASTRA_FAULTS);
    const times = 1 + random.int(4);
    let ownFaults = 0;
    const result = await checkedRotation(e, secret, {
      maxAttempts: 3,
      beforeStep: async (ctx) => {
        if (ctx.attempt !== 1 || ctx.step !== at) return;
        if (disturbance === 'astra') await e.astra.injectFault({ method: astraCall[0], path: astraCall[1], times, fault: astraFault });
        if (disturbance === 'crash') {
          ownFaults += 1;
          throw new SimulatedCrash(ctx.step);
        }
        if (disturbance === 'kill') e.killSwitch.arm(killAt, killPoint);
      },
      environmentFor: (ctx) => {
        if (disturbance !== 'secrets-manager' || ctx.attempt !== 1 || ctx.step !== at) return undefined;
        ownFaults += 1;
        return { SECRETS_MANAGER_ENDPOINT: closed };
      },
    });
    // A fault armed for a call the rotation never made must not leak into the next rotation.
    await e.astra.clearFaults();
    if (e.killSwitch.fired) ownFaults += 1;
    e.killSwitch.disarm();
    e.killSwitch.fired = undefined;
    faults += ownFaults + (await e.astra.faultState()).fired - firedBefore;
    if (result.completed) completed += 1;
    else abandoned += 1;
  }

  // Quiet rotations heal any tracked revocation debt; then the strict invariants hold for every secret.
  for (const secret of secrets) {
    expect((await checkedRotation(e, secret)).completed).toBe(true);
  }
  await e.invariants.noStrayMintedTokens(secrets, 'end of soak');
  await e.invariants.astraContract('soak');
  await e.invariants.redaction([], 'soak logs');
  const violations = e.invariants.takeViolations();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(`soak seed ${seed}: ${ROTATIONS} rotations, ${faults} faults injected, ${violations.length} invariant violations `
    + `(${completed} completed, ${abandoned} abandoned, ${e.invariants.checks} checks, ${seconds} s)\n`);
  expect(violations).toEqual([]);
  expect(await e.astra.isLive(admin.token!)).toBe(true);
}, 240_000);
