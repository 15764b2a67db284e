import { createHash } from 'node:crypto';
import type { AstraEmulatorProcess } from './astra-emulator-process';
import type { LogCapture } from './log-capture';
import { effectivePolicy, RotatedSecret, ROTATOR_KEYS, SecretsFixture } from './secrets-fixture';
import { ASTRA_TOKEN_FORMAT } from '../../support/astra/token-material';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/**
 * The handler's ownership mark (docs/rotation-design.md, "Marks"), restated here rather than imported from lambda/, so
 * that a change to the format fails these checks: `cdk-astra-token-secret secret=<sha256(ARN), 16 hex> version=<id> …`.
 */
/** Keys the binding decides in every version the function writes. */
const BOUND_KEYS = ['roleID', 'rootarn'];
export const MARK = /^cdk-astra-token-secret secret=([0-9a-f]{16}) version=(\S+)/;
export const MARK_MAX_LENGTH = 200;

function parse(value: string | undefined): Record<string, any> | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a token's description marks it as minted for this secret (and, when given, this version). */
export function markedFor(description: string | undefined, secret: RotatedSecret, version?: string): boolean {
  const mark = description ? MARK.exec(description) : null;
  if (!mark) return false;
  return mark[1] === createHash('sha256').update(secret.arn).digest('hex').slice(0, 16) && (version === undefined || mark[2] === version);
}

/**
 * The invariants of docs/rotation-design.md, checked against moto and the emulator's state. Violations are recorded,
 * not thrown, so the soak can count them; tests assert `violations` is empty.
 */
export class InvariantChecker {
  public violations: string[] = [];
  public checks = 0;
  private specViolationsSeen = 0;
  private selfRevocationsSeen = 0;
  private logLinesChecked = 0;
  /** Tokens a test expects to revoke themselves: a self-rotating secret's last token, when the secret is deleted. */
  public readonly allowedSelfRevocations = new Set<string>();

  constructor(
    private readonly secrets: SecretsFixture,
    private readonly astra: AstraEmulatorProcess,
    private readonly logs: LogCapture,
  ) {}

  /** After every step: AWSCURRENT works (once it holds a token), its schema is valid, user keys are untouched. */
  public async afterStep(secret: RotatedSecret, where: string): Promise<void> {
    this.checks += 1;
    const current = await this.secrets.readStage(secret.arn, 'AWSCURRENT');
    const value = parse(current?.value);
    if (!value) return this.fail(where, secret, 'AWSCURRENT is not a JSON object');
    if (value.astraKey === undefined && secret.seedClientIds.length === 0) return;
    if (typeof value.astraKey !== 'string' || !(await this.astra.isLive(value.astraKey))) {
      this.fail(where, secret, `AWSCURRENT's token (clientID ${value.clientID}) is not accepted by Astra`);
    }
    for (const problem of this.schemaProblems(value)) this.fail(where, secret, problem);
    const rotated = typeof value.clientID === 'string' && (await this.astra.token(value.clientID))?.mintedBy !== undefined;
    if (rotated) for (const problem of this.bindingProblems(secret, value)) this.fail(where, secret, problem);
    for (const key of new Set([...Object.keys(secret.initialValue), ...Object.keys(value)])) {
      // roleID and rootarn follow the binding once the function has written a version (bindingProblems checks them).
      if (ROTATOR_KEYS.includes(key) || (rotated && BOUND_KEYS.includes(key))) continue;
      if (JSON.stringify(value[key]) !== JSON.stringify(secret.initialValue[key])) {
        this.fail(where, secret, `key "${key}" changed: ${JSON.stringify(secret.initialValue[key])} -> ${JSON.stringify(value[key])}`);
      }
    }
  }

  /**
   * After a completed rotation: of every token made for the secret (seeded, or marked as its own), exactly AWSCURRENT's
   * are live, plus AWSPREVIOUS's under AT_NEXT_ROTATION; AWSCURRENT's token carries the mark of its own version.
   */
  public async afterCompletedRotation(secret: RotatedSecret, where: string): Promise<void> {
    this.checks += 1;
    const currentStage = await this.secrets.readStage(secret.arn, 'AWSCURRENT');
    const current = parse(currentStage?.value) ?? {};
    const previous = parse((await this.secrets.readStage(secret.arn, 'AWSPREVIOUS'))?.value) ?? {};
    const expected = new Set<string>([current.clientID]);
    if (effectivePolicy(secret) === 'AT_NEXT_ROTATION' && typeof previous.clientID === 'string') expected.add(previous.clientID);
    const owned = await this.ownedTokens(secret);
    const live = owned.filter((t) => !t.revoked).map((t) => t.clientId);
    for (const clientId of expected) {
      if (!live.includes(clientId)) this.fail(where, secret, `token ${clientId} should be live (AWSCURRENT/AWSPREVIOUS) but is not`);
    }
    for (const clientId of live) {
      if (!expected.has(clientId)) this.fail(where, secret, `token ${clientId} is live but is neither AWSCURRENT's nor AWSPREVIOUS's (policy ${effectivePolicy(secret)})`);
    }
    for (const t of owned) {
      if (t.mintedBy && (t.roles.length !== 1 || t.roles[0] !== secret.binding.roleId)) {
        this.fail(where, secret, `token ${t.clientId} was minted with roles ${t.roles.join(', ')}, not the bound role ${secret.binding.roleId}`);
      }
    }
    const currentToken = owned.find((t) => t.clientId === current.clientID);
    if (currentToken?.mintedBy && !markedFor(currentToken.description, secret, currentStage?.versionId)) {
      this.fail(where, secret, `AWSCURRENT's token is not marked with its version ${currentStage?.versionId}: "${currentToken.description}"`);
    }
  }

  /**
   * No token the function minted for these secrets is live unless a secret expects it, and none is live that names no
   * secret at all (only meaningful with nothing in flight).
   */
  public async noStrayMintedTokens(secrets: RotatedSecret[], where: string): Promise<void> {
    this.checks += 1;
    const allowed = new Set<string>();
    for (const secret of secrets) {
      for (const stage of ['AWSCURRENT', 'AWSPREVIOUS'] as const) {
        const v = parse((await this.secrets.readStage(secret.arn, stage))?.value);
        if (v?.clientID && (stage === 'AWSCURRENT' || effectivePolicy(secret) === 'AT_NEXT_ROTATION')) allowed.add(v.clientID);
      }
    }
    for (const t of await this.astra.tokens()) {
      const mine = secrets.some((secret) => markedFor(t.description, secret));
      const unmarked = t.mintedBy && !MARK.test(t.description ?? '');
      if (t.mintedBy && (t.description ?? '').length > MARK_MAX_LENGTH) {
        this.violations.push(`${where}: token ${t.clientId}'s mark is longer than ${MARK_MAX_LENGTH} characters`);
      }
      if (!t.revoked && (mine || unmarked) && !allowed.has(t.clientId)) {
        this.violations.push(`${where}: token ${t.clientId} ("${t.description}") minted by the function is live and belongs to no secret`);
      }
    }
  }

  /**
   * No credential, and no Authorization header, in any captured log line or in the given errors. Each log line is
   * checked once, against every credential the emulator has issued by then: a line cannot hold a credential issued
   * after it was written, and rechecking every line after every rotation made the soak's checks grow with its cube.
   */
  public async redaction(errors: Error[], where: string): Promise<void> {
    this.checks += 1;
    const credentials = await this.astra.credentialStrings();
    const newLines = this.logs.lines.slice(this.logLinesChecked);
    this.logLinesChecked += newLines.length;
    const texts = [...newLines, ...errors.flatMap((e) => [e.message, e.stack ?? '', (e as { serialized?: string }).serialized ?? JSON.stringify(e)])];
    for (const text of texts) {
      const leaked = credentials.find((c) => text.includes(c));
      if (leaked) this.violations.push(`${where}: a credential (${leaked.slice(0, 4)}…) appears in: ${text.split(leaked).join('<LEAKED>').slice(0, 300)}`);
      if (/Bearer\s+\S|AstraCS:[A-Za-z0-9]{24}:[0-9a-f]|["']?authorization["']?\s*[:=]/i.test(text)) {
        this.violations.push(`${where}: an Authorization header or token appears in: ${text.slice(0, 300)}`);
      }
    }
  }

  /** The emulator saw no request that DataStax's spec rejects, and no token revoking itself. */
  public async astraContract(where: string): Promise<void> {
    this.checks += 1;
    const records = await this.astra.records();
    const violations = records.specViolations.slice(this.specViolationsSeen);
    const selfRevocations = records.selfRevocations.slice(this.selfRevocationsSeen);
    this.specViolationsSeen = records.specViolations.length;
    this.selfRevocationsSeen = records.selfRevocations.length;
    for (const v of violations) this.violations.push(`${where}: spec violation ${v.method} ${v.path.split('/').slice(0, 3).join('/')}: ${v.errors.join('; ')}`);
    for (const id of selfRevocations.filter((c) => !this.allowedSelfRevocations.has(c))) this.violations.push(`${where}: token ${id} revoked itself`);
  }

  /** Hands the recorded violations over and starts a fresh list, so one scenario's failure does not spill into the next. */
  public takeViolations(): string[] {
    const taken = this.violations;
    this.violations = [];
    return taken;
  }

  public schemaProblems(value: Record<string, any>): string[] {
    const problems: string[] = [];
    if (typeof value.astraKey !== 'string' || !ASTRA_TOKEN_FORMAT.test(value.astraKey)) problems.push('astraKey is not an AstraCS token');
    else if (value.clientID !== value.astraKey.split(':')[1]) problems.push('clientID does not match astraKey');
    if (typeof value.clientSecret !== 'string' || value.clientSecret === '') problems.push('clientSecret missing');
    if (value.engine !== 'AstraDB' && value.engine !== 'Astra') problems.push(`engine ${JSON.stringify(value.engine)}`);
    if (typeof value.roleID !== 'string' || !UUID.test(value.roleID)) problems.push('roleID is not a UUID');
    if (value.orgId !== undefined && value.orgId !== this.astra.orgId) problems.push(`orgId ${JSON.stringify(value.orgId)} is not the org's`);
    if (value.generatedOn !== undefined && isNaN(Date.parse(value.generatedOn))) problems.push('generatedOn is not a date');
    if (value.pendingRevocations !== undefined) {
      if (!Array.isArray(value.pendingRevocations) || value.pendingRevocations.some((id: unknown) => typeof id !== 'string')) problems.push('pendingRevocations is not a list of clientIds');
      else if (value.pendingRevocations.includes(value.clientID)) problems.push('pendingRevocations lists the version\'s own clientID');
    }
    return problems;
  }

  /** A version the function wrote carries the binding as DataStax's schema has it: roleID, and rootarn in admin mode. */
  public bindingProblems(secret: RotatedSecret, value: Record<string, any>): string[] {
    const problems: string[] = [];
    if (value.roleID !== secret.binding.roleId) problems.push(`roleID ${JSON.stringify(value.roleID)} is not the bound role ${secret.binding.roleId}`);
    if (value.rootarn !== secret.binding.adminSecretArn) {
      problems.push(`rootarn ${JSON.stringify(value.rootarn)} is not the bound admin secret ${JSON.stringify(secret.binding.adminSecretArn)}`);
    }
    return problems;
  }

  private async ownedTokens(secret: RotatedSecret) {
    return (await this.astra.tokens()).filter((t) => secret.seedClientIds.includes(t.clientId) || markedFor(t.description, secret));
  }

  private fail(where: string, secret: RotatedSecret, problem: string): void {
    this.violations.push(`${where} [${secret.name}]: ${problem}`);
  }
}
