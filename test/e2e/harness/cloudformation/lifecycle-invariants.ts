import { createHash } from 'node:crypto';
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AstraEmulatorProcess } from '../astra-emulator-process';
import { MARK } from '../invariants';
import { POLICY_TAG } from '../secrets-fixture';
import type { ModelServices } from './model-services';
import type { LedgerEntry } from './secret-ledger';

interface StageToken {
  readonly clientId?: string;
  readonly hasToken: boolean;
}

/**
 * What must hold after every CloudFormation operation, whatever the function's design (CLOUDFORMATION.md):
 * (a) every secret that exists and has ever held a token holds a live token in AWSCURRENT;
 * (b) no secret the model deleted has a live token (tokens marked for it, its seeds, and every clientId its versions
 *     held before it went);
 * (c) no token was revoked that belongs to a secret that stays (its AWSCURRENT, or its AWSPREVIOUS under
 *     AT_NEXT_ROTATION) or to no secret at all (an admin token), unless the test names it;
 * (d) CloudFormation got an answer to every custom resource request (the model records when it did not).
 * Violations are recorded as strings, as InvariantChecker does; tests assert the list is empty. A lasting problem
 * (a dead token in a secret that stays) is reported once, at the first check that sees it, so that one test's leftover
 * does not fail the next test of the file.
 */
export class LifecycleInvariants {
  public violations: string[] = [];
  /** Revocations a test expects (e.g. a token it revoked itself). */
  public readonly allowedRevocations = new Set<string>();
  private liveAtLastCheck = new Set<string>();
  private modelViolationsSeen = 0;
  private readonly reported = new Set<string>();

  constructor(private readonly services: ModelServices, private readonly astra: AstraEmulatorProcess, private readonly sm: SecretsManagerClient) {}

  /** The live tokens now: revocations are judged from here on. */
  public async baseline(): Promise<void> {
    this.liveAtLastCheck = new Set((await this.astra.tokens()).filter((t) => !t.revoked).map((t) => t.clientId));
    this.modelViolationsSeen = this.services.violations.length;
  }

  /** Checks (a) to (d); returns the new violations (also added to `violations`). */
  public async check(where: string): Promise<string[]> {
    const found: string[] = [];
    const lasting = (problem: string) => {
      if (this.reported.has(problem)) return;
      this.reported.add(problem);
      found.push(`${where} ${problem}`);
    };
    const tokens = await this.astra.tokens();
    const byId = new Map(tokens.map((t) => [t.clientId, t]));
    const isLive = (clientId: string | undefined) => clientId !== undefined && byId.get(clientId)?.revoked === false;
    const protectedBy = new Map<string, LedgerEntry>();

    for (const entry of this.services.ledger.all()) {
      if (entry.deleted) continue;
      const secret = await this.readSecret(entry.arn);
      if (!secret) {
        lasting(`[${name(entry)}]: the secret is gone, but nothing the model did deleted it`);
        continue;
      }
      const { current, previous, policy } = secret;
      this.services.ledger.noteClientIds(entry.arn, [current.clientId, previous.clientId].filter((c): c is string => !!c));
      if (current.hasToken) {
        entry.everHeldToken = true;
        if (!isLive(current.clientId)) lasting(`[${name(entry)}]: AWSCURRENT's token ${current.clientId} is not live`);
      } else if (entry.everHeldToken) {
        lasting(`[${name(entry)}]: AWSCURRENT holds no token, though the secret held one`);
      }
      if (current.clientId) protectedBy.set(current.clientId, entry);
      if (previous.clientId && policy !== 'IMMEDIATELY') protectedBy.set(previous.clientId, entry);
    }

    const owners = this.services.ledger.all();
    const ownerOf = (clientId: string, description: string | undefined) =>
      owners.find((e) => e.clientIds.has(clientId) || markedFor(description, e.arn));
    for (const entry of owners.filter((e) => e.deleted)) {
      const live = tokens.filter((t) => !t.revoked && (entry.clientIds.has(t.clientId) || markedFor(t.description, entry.arn)));
      for (const t of live) lasting(`[${name(entry)}]: deleted (${entry.deletedDuring}) but its token ${t.clientId} is live`);
    }

    for (const t of tokens) {
      if (!t.revoked || !this.liveAtLastCheck.has(t.clientId) || this.allowedRevocations.has(t.clientId)) continue;
      const stays = protectedBy.get(t.clientId);
      if (stays) {
        found.push(`${where} [${name(stays)}]: token ${t.clientId} was revoked though the secret stays and still uses it`);
      } else if (!ownerOf(t.clientId, t.description)) {
        found.push(`${where}: token ${t.clientId} ("${t.description ?? ''}") of no secret the model knows (an admin token?) was revoked`);
      }
    }
    this.liveAtLastCheck = new Set(tokens.filter((t) => !t.revoked).map((t) => t.clientId));

    for (const v of this.services.violations.slice(this.modelViolationsSeen)) found.push(`${where}: ${v}`);
    this.modelViolationsSeen = this.services.violations.length;
    this.violations.push(...found);
    return found;
  }

  /** Hands the recorded violations over and starts a fresh list. */
  public takeViolations(): string[] {
    const taken = this.violations;
    this.violations = [];
    return taken;
  }

  private async readSecret(arn: string): Promise<{ current: StageToken; previous: StageToken; policy?: string } | undefined> {
    let tags: Array<{ Key?: string; Value?: string }>;
    try {
      tags = (await this.sm.send(new DescribeSecretCommand({ SecretId: arn }))).Tags ?? [];
    } catch (e) {
      if ((e as Error).name === 'ResourceNotFoundException') return undefined;
      throw e;
    }
    const stage = async (VersionStage: string): Promise<StageToken> => {
      try {
        const got = await this.sm.send(new GetSecretValueCommand({ SecretId: arn, VersionStage }));
        const value = JSON.parse(got.SecretString ?? '{}') as { astraKey?: unknown; clientID?: unknown };
        return { hasToken: typeof value.astraKey === 'string', clientId: typeof value.clientID === 'string' ? value.clientID : undefined };
      } catch {
        return { hasToken: false };
      }
    };
    return { current: await stage('AWSCURRENT'), previous: await stage('AWSPREVIOUS'), policy: tags.find((t) => t.Key === POLICY_TAG)?.Value };
  }
}

/** The function's ownership mark for the secret (the format is restated in ../invariants.ts, MARK). */
export function markedFor(description: string | undefined, secretArn: string): boolean {
  const mark = description ? MARK.exec(description) : null;
  return !!mark && mark[1] === createHash('sha256').update(secretArn).digest('hex').slice(0, 16);
}

function name(entry: LedgerEntry): string {
  return entry.owner ?? entry.arn.split(':').pop() ?? entry.arn;
}
