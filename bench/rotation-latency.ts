import { createSecrets, RotationSample, rotateOnce, startRotationEnvironment } from './rotation-env';
import { median, percentile, round } from './stats';
import { StepName } from '../test/e2e/harness/rotation-driver';
import { RotationMode } from '../test/e2e/harness/secrets-fixture';

/** One call the rotation contract cannot do without, with the reason. */
interface RequiredCall {
  readonly step: StepName;
  readonly call: string;
  readonly why: string;
}

/**
 * The fewest calls a rotation of this contract makes, in steady state (the secret has AWSCURRENT and AWSPREVIOUS, so
 * one old token is due for revocation). Keys: Secrets Manager operation, or `METHOD path` for Astra.
 */
function contractMinimum(mode: RotationMode): { sm: RequiredCall[]; astra: RequiredCall[] } {
  const sm: RequiredCall[] = [
    { step: 'createSecret', call: 'DescribeSecret', why: 'rotation template check: rotation enabled, version staged AWSPENDING' },
    { step: 'createSecret', call: 'GetSecretValue', why: 'AWSPENDING of this version: idempotency (a retried createSecret must not mint twice)' },
    { step: 'createSecret', call: 'GetSecretValue', why: 'AWSCURRENT: the token that mints (self) and the keys copied into the new version' },
    { step: 'createSecret', call: 'PutSecretValue', why: 'store the new token as AWSPENDING' },
    { step: 'setSecret', call: 'DescribeSecret', why: 'rotation template check (setSecret has nothing else to do for Astra)' },
    { step: 'testSecret', call: 'DescribeSecret', why: 'rotation template check' },
    { step: 'testSecret', call: 'GetSecretValue', why: 'AWSPENDING: the token to test' },
    { step: 'finishSecret', call: 'DescribeSecret', why: 'rotation template check; gives the AWSCURRENT version to move from' },
    { step: 'finishSecret', call: 'GetSecretValue', why: 'what to revoke after the promotion, and (self) the new token to revoke with' },
    { step: 'finishSecret', call: 'UpdateSecretVersionStage', why: 'promote AWSPENDING to AWSCURRENT' },
  ];
  if (mode === 'admin') {
    sm.push({ step: 'createSecret', call: 'GetSecretValue', why: 'admin secret (bound by tag): the token that mints' });
    sm.push({ step: 'finishSecret', call: 'GetSecretValue', why: 'admin secret (bound by tag): the token that revokes' });
  }
  const astra: RequiredCall[] = [
    { step: 'createSecret', call: 'POST /v2/clientIdSecrets', why: 'mint the new token' },
    { step: 'testSecret', call: 'GET /v2/currentOrg', why: 'prove the new token works' },
    { step: 'finishSecret', call: 'DELETE /v2/clientIdSecrets/{id}', why: 'revoke the token that fell out of AWSPREVIOUS' },
  ];
  return { sm, astra };
}

/** Why the handler makes the calls it makes beyond the minimum (from reading lambda/rotation/steps/), for the report. */
const EXTRA_CALL_REASONS: Array<{ step: StepName; call: string; reason: string }> = [
  {
    step: 'createSecret',
    call: 'GetSecretValue',
    reason: 'AWSPREVIOUS is read to learn the clientId that AT_NEXT_ROTATION keeps live until the promotion and then owes a ' +
      'revocation (readPrevious in lambda/rotation/steps/create-secret.ts); avoidable if each version recorded its predecessor\'s clientId',
  },
  {
    step: 'createSecret',
    call: 'GET /v2/clientIdSecrets',
    reason: 'the sweep before the mint: every token marked as this secret\'s that the policy does not keep (a lost mint answer, a ' +
      'killed invocation, an abandoned rotation) is revoked (lambda/rotation/sweep.ts), and owed revocations already dead cost no DELETE. ' +
      'A second list after the mint reads the new token\'s expiry only when the mint asked for one or the first list does not ' +
      'show that the org sets none (noExpiryShownByRecentMint in lambda/rotation/token-expiry.ts)',
  },
  {
    step: 'finishSecret',
    call: 'GET /v2/clientIdSecrets',
    reason: 'the revocations the promotion owes are recorded in the version, which anyone with PutSecretValue can write: the list ' +
      'shows which owed tokens are live and marked as this secret\'s before any is revoked (lambda/rotation/revocation-rule.ts)',
  },
];

export interface CallCount {
  readonly step: StepName;
  readonly call: string;
  /** Calls per rotation (the median over the measured rotations). */
  readonly measured: number;
  readonly minimum: number;
  /** The reasons the minimum needs them; empty for calls the contract does not need. */
  readonly why: string[];
  /** Why the handler makes more than the minimum, when it does. */
  readonly extraReason?: string;
}

export interface ModeResult {
  readonly mode: RotationMode;
  readonly rotations: number;
  readonly warmupRotations: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly meanMs: number;
  readonly stepP50Ms: Record<string, number>;
  readonly smCallsPerRotation: { measured: number; minimum: number; min: number; max: number };
  readonly astraCallsPerRotation: { measured: number; minimum: number; min: number; max: number };
  readonly smCalls: CallCount[];
  readonly astraCalls: CallCount[];
}

export interface LatencyResult {
  readonly secretsPerMode: number;
  readonly modes: ModeResult[];
  readonly method: string;
}

const WARMUP_ROTATIONS_PER_SECRET = 2;
const totals = (perRotation: number[], minimum: number) =>
  ({ measured: median(perRotation), minimum, min: Math.min(...perRotation), max: Math.max(...perRotation) });
const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

function callTable(samples: RotationSample[], kind: 'smCalls' | 'astraCalls', required: RequiredCall[]): CallCount[] {
  const keys = new Map<string, { step: StepName; call: string }>();
  const astraKey = (k: string) => k.split(' ').slice(0, 2).join(' '); // drop the status
  for (const s of samples) {
    for (const step of s.steps) {
      for (const call of Object.keys(step[kind])) keys.set(`${step.step}|${call}`, { step: step.step, call });
    }
  }
  for (const r of required) {
    const present = [...keys.values()].some((k) => k.step === r.step && (kind === 'astraCalls' ? astraKey(k.call) : k.call) === r.call);
    if (!present) keys.set(`${r.step}|${r.call}`, { step: r.step, call: r.call });
  }
  const rows = [...keys.values()].map(({ step, call }) => {
    const perRotation = samples.map((s) => s.steps.filter((x) => x.step === step).reduce((n, x) => n + (x[kind][call] ?? 0), 0));
    const matching = required.filter((r) => r.step === step && r.call === (kind === 'astraCalls' ? astraKey(call) : call));
    // An Astra minimum is met by a successful answer; a 404 answer to a DELETE is a call the contract did not need.
    const status = kind === 'astraCalls' ? Number(call.split(' ')[2]) : 200;
    const counts = status >= 200 && status < 300 ? matching : [];
    const measured = median(perRotation);
    const extraReason = measured > counts.length ? EXTRA_CALL_REASONS.find((e) => e.step === step && e.call === call)?.reason ?? 'unexplained' : undefined;
    return { step, call, measured, minimum: counts.length, why: counts.map((r) => r.why), extraReason };
  });
  const order: string[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];
  return rows.sort((a, b) => order.indexOf(a.step) - order.indexOf(b.step) || a.call.localeCompare(b.call));
}

async function measureMode(bundle: string, mode: RotationMode, secretsCount: number, rotationsPerSecret: number): Promise<ModeResult> {
  const ctx = await startRotationEnvironment(bundle, { countSmCalls: true });
  try {
    const secrets = await createSecrets(ctx, mode, secretsCount);
    // Warm-up, not counted: the first rotation of a seeded secret has no AWSPREVIOUS and nothing to revoke, and the
    // second finds no queued revocation in AWSCURRENT yet. From the third on, every rotation does the same work.
    for (let i = 0; i < WARMUP_ROTATIONS_PER_SECRET; i++) {
      for (const s of secrets) await rotateOnce(ctx, s.arn);
    }
    const samples: RotationSample[] = [];
    for (let round_ = 0; round_ < rotationsPerSecret; round_++) {
      for (const s of secrets) samples.push(await rotateOnce(ctx, s.arn));
    }
    const durations = samples.map((s) => s.durationMs);
    const stepP50Ms: Record<string, number> = {};
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) {
      stepP50Ms[step] = round(median(samples.map((s) => s.steps.filter((x) => x.step === step).reduce((n, x) => n + x.durationMs, 0))), 2);
    }
    const minimum = contractMinimum(mode);
    const smTotals = samples.map((s) => s.steps.reduce((n, x) => n + sum(x.smCalls), 0));
    const astraTotals = samples.map((s) => s.steps.reduce((n, x) => n + sum(x.astraCalls), 0));
    if (Math.min(...smTotals) === 0) throw new Error('no Secrets Manager call was counted: the request counter of test/e2e/harness/lambda-runtime-main.ts saw nothing');
    return {
      mode,
      rotations: samples.length,
      warmupRotations: secrets.length * WARMUP_ROTATIONS_PER_SECRET,
      p50Ms: round(percentile(durations, 50)),
      p95Ms: round(percentile(durations, 95)),
      meanMs: round(durations.reduce((a, b) => a + b, 0) / durations.length),
      stepP50Ms,
      smCallsPerRotation: totals(smTotals, minimum.sm.length),
      astraCallsPerRotation: totals(astraTotals, minimum.astra.length),
      smCalls: callTable(samples, 'smCalls', minimum.sm),
      astraCalls: callTable(samples, 'astraCalls', minimum.astra),
    };
  } finally {
    await ctx.stop();
  }
}

export async function measureRotationLatency(bundle: string, secretsPerMode = 10, rotationsPerSecret = 6): Promise<LatencyResult> {
  const modes: ModeResult[] = [];
  for (const mode of ['self', 'admin'] as const) modes.push(await measureMode(bundle, mode, secretsPerMode, rotationsPerSecret));
  return {
    secretsPerMode,
    modes,
    method: `Per mode: ${secretsPerMode} secrets (policy AT_NEXT_ROTATION, the construct's default) seeded with a token, each rotated ` +
      `${WARMUP_ROTATIONS_PER_SECRET} times as warm-up (to reach the steady state), then ${rotationsPerSecret} rounds over all ` +
      'secrets, measured. A rotation\'s latency is the sum of its four step invocations (createSecret, setSecret, testSecret, finishSecret) as the driver saw them: the bundle ' +
      'runs warm in its own node process (IPC round trip included); moto (Secrets Manager) and the spec-checked Astra emulator are ' +
      'separate local processes; the driver\'s own RotateSecret staging is excluded. Secrets Manager calls are counted in the function ' +
      'process by wrapping node:http.request (x-amz-target header); Astra calls come from the emulator\'s request log.',
  };
}
