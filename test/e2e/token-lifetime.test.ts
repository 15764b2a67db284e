import { useE2EEnvironment } from './harness/e2e-environment';
import { checkedRotation, expectNoViolations } from './harness/scenario';
import { RotatedSecret, SecretOptions } from './harness/secrets-fixture';
import { MAX_TOKEN_LIFETIME_TAG } from '../../src/shared/secret-tags';

/** Tokens that expire: the org's cap, the secret's maxTokenLifetime, and what a rotation says about them. */
const e = useE2EEnvironment('e2e-lifetime');
afterEach(async () => {
  await e.astra.setOrgTokenLifetime(undefined);
  await expectNoViolations(e);
});

const DAY_MS = 86_400_000;
const LIFETIME_TAG = MAX_TOKEN_LIFETIME_TAG;

async function rotateAndRead(options: SecretOptions) {
  const secret = await e.secrets.createRotatedSecret(options);
  const from = e.logs.lines.length;
  const started = Date.now();
  const result = await checkedRotation(e, secret);
  const lines = e.logs.stepLines(from).filter((l) => l.secretArn === secret.arn);
  const current = JSON.parse((await e.secrets.readStage(secret.arn, 'AWSCURRENT'))!.value!);
  const issued = (await e.astra.token(current.clientID))!;
  return { secret, result, lines, current, issued, started };
}

function alertsOf(secret: RotatedSecret, from = 0) {
  return e.logs.lines.slice(from).flatMap((l) => (l.startsWith('{') ? [JSON.parse(l)] : [])).filter((l) => l.alert && l.secretArn === secret.arn);
}

test('an org that caps tokens at one day: the rotation completes, and an ERROR line names the expiry and when the token is needed until', async () => {
  await e.astra.setOrgTokenLifetime(DAY_MS);
  const { secret, result, lines, current, issued, started } = await rotateAndRead({ mode: 'admin' });
  expect(result.completed).toBe(true);
  const expiry = Date.parse(issued.tokenExpiry!);
  expect(expiry - started).toBeGreaterThan(DAY_MS - 60_000);
  expect(expiry - started).toBeLessThanOrEqual(DAY_MS + 60_000);
  // The step line of createSecret carries the expiry and the rotation rules' need (30 days, AT_NEXT_ROTATION: 61 days).
  const create = lines.find((l) => l.step === 'createSecret') as Record<string, any>;
  expect(create.token.expiry).toBe(issued.tokenExpiry);
  expect(Date.parse(create.token.nextRotation) - started).toBeGreaterThan(29 * DAY_MS);
  expect(Date.parse(create.token.neededUntil) - started).toBeGreaterThan(60 * DAY_MS);
  expect(current.tokenExpiry).toBe(issued.tokenExpiry);
  const [alert, ...more] = alertsOf(secret);
  expect(more).toEqual([]);
  expect(alert).toMatchObject({ level: 'ERROR', alert: 'TokenExpiresBeforeReplacement', clientId: current.clientID, tokenExpiry: issued.tokenExpiry });
  expect(alert.message).toMatch(/expires at .* before .*Rotate more often/);
});

test('IMMEDIATELY needs the token only until the next rotation: a 40-day cap on a 30-day schedule raises nothing', async () => {
  await e.astra.setOrgTokenLifetime(40 * DAY_MS);
  const { secret, result, issued } = await rotateAndRead({ mode: 'self', policyTag: 'IMMEDIATELY' });
  expect(result.completed).toBe(true);
  expect(issued.tokenExpiry).toBeDefined();
  expect(alertsOf(secret)).toEqual([]);
});

test('maxTokenLifetime: every minted token carries that expiry, and a lifetime that covers the grace raises nothing', async () => {
  const lifetimeDays = 90;
  const { secret, result, issued, started, lines } = await rotateAndRead({ mode: 'admin', tags: { [LIFETIME_TAG]: String(lifetimeDays * 86_400) } });
  expect(result.completed).toBe(true);
  const expiry = Date.parse(issued.tokenExpiry!);
  expect(Math.abs(expiry - started - lifetimeDays * DAY_MS)).toBeLessThan(60_000);
  expect((lines.find((l) => l.step === 'createSecret') as any).token.expiry).toBe(issued.tokenExpiry);
  expect(alertsOf(secret)).toEqual([]);
  // A second rotation's token has its own expiry, counted from its own mint.
  expect((await checkedRotation(e, secret)).completed).toBe(true);
  const second = JSON.parse((await e.secrets.readStage(secret.arn, 'AWSCURRENT'))!.value!);
  expect(Date.parse(second.tokenExpiry)).toBeGreaterThanOrEqual(expiry);
});

test('maxTokenLifetime beyond an org cap that shortens it: the shorter expiry is what the rotation reports', async () => {
  await e.astra.setOrgTokenLifetime(2 * DAY_MS, 'shorten');
  const { secret, result, issued, started } = await rotateAndRead({ mode: 'admin', tags: { [LIFETIME_TAG]: String(90 * 86_400) } });
  expect(result.completed).toBe(true);
  expect(Date.parse(issued.tokenExpiry!) - started).toBeLessThan(2 * DAY_MS + 60_000);
  expect(alertsOf(secret).map((a) => a.tokenExpiry)).toEqual([issued.tokenExpiry]);
});

test('maxTokenLifetime beyond an org cap that refuses it: the rotation fails saying so, nothing is minted and the secret is unchanged', async () => {
  await e.astra.setOrgTokenLifetime(2 * DAY_MS, 'refuse');
  const secret = await e.secrets.createRotatedSecret({ mode: 'admin', tags: { [LIFETIME_TAG]: String(90 * 86_400) } });
  const before = await e.secrets.readStage(secret.arn, 'AWSCURRENT');
  const minted = (await e.astra.mintedTokens()).length;
  const result = await e.driver.rotate(secret.arn, { maxAttempts: 2 });
  expect(result.completed).toBe(false);
  expect(result.errors[0].message).toMatch(/HTTP 400: tokenExpiry exceeds .*maxTokenLifetime.*lower maxTokenLifetime/);
  expect((await e.astra.mintedTokens()).length).toBe(minted);
  expect(await e.secrets.readStage(secret.arn, 'AWSCURRENT')).toEqual(before);
});

test('a lifetime tag of 1 s, below the floor synth enforces: the rotation is refused before any call to Astra, naming the floor; nothing minted or written', async () => {
  const secret = await e.secrets.createRotatedSecret({ mode: 'admin', tags: { [LIFETIME_TAG]: '1' } });
  const before = await e.secrets.versionValues(secret.arn);
  const current = await e.secrets.readStage(secret.arn, 'AWSCURRENT');
  const minted = (await e.astra.mintedTokens()).length;
  const calls = (await e.astra.records()).requests.length;
  const from = e.logs.lines.length;
  const result = await e.driver.rotate(secret.arn, { maxAttempts: 2 });
  expect(result.completed).toBe(false);
  expect(result.errors).toHaveLength(2);
  for (const error of result.errors) {
    // The rotation rules moto reports: AutomaticallyAfterDays 30, no window; AT_NEXT_ROTATION: 61 days.
    expect(error.message).toMatch(new RegExp(`^createSecret of ${secret.arn} \\(version ${result.token}\\) failed: the tag ${LIFETIME_TAG} is 1 s, `
      + 'below the floor of 5270400 s \\(1464 hours\\).*Nothing was minted or written\\. Set maxTokenLifetime to at least Duration\\.days\\(61\\)'));
  }
  expect(e.logs.stepLines(from).filter((l) => l.secretArn === secret.arn).map((l) => l.outcome)).toEqual(['failed', 'failed']);
  expect((await e.astra.records()).requests.length).toBe(calls);
  expect((await e.astra.mintedTokens()).length).toBe(minted);
  expect(await e.secrets.readStage(secret.arn, 'AWSCURRENT')).toEqual(current);
  const stored = (values: Record<string, string | undefined>) => Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
  expect(stored(await e.secrets.versionValues(secret.arn))).toEqual(stored(before));
  expect(await e.astra.isLive(JSON.parse(current!.value!).astraKey)).toBe(true);
});
