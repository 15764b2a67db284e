import { randomBytes } from 'node:crypto';
import {
  CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, ListSecretVersionIdsCommand, PutSecretValueCommand, SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { AstraEmulatorProcess } from './astra-emulator-process';
import { ADMIN_SECRET_ARN_TAG, PREVIOUS_TOKEN_REVOCATION_TAG, ROLE_ID_TAG } from '../../../src/shared/secret-tags';

// The construct's own names, not copies that could drift from them.
export const POLICY_TAG = PREVIOUS_TOKEN_REVOCATION_TAG;
export const ROLE_TAG = ROLE_ID_TAG;
export const ADMIN_TAG = ADMIN_SECRET_ARN_TAG;
export type RevocationPolicy = 'AT_NEXT_ROTATION' | 'IMMEDIATELY';
/** Keys the rotator writes; every other key must come through a rotation unchanged (docs/rotation-design.md). */
export const ROTATOR_KEYS = ['astraKey', 'clientID', 'clientSecret', 'orgId', 'generatedOn', 'tokenExpiry', 'pendingRevocations', 'pendingRevocationVersions'];
export const REGION = 'us-east-1';

export type RotationMode = 'self' | 'admin';

export interface RotatedSecret {
  readonly name: string;
  readonly arn: string;
  readonly mode: RotationMode;
  /** The tag's value; undefined when the tag is absent (the default policy applies). */
  readonly policyTag?: string;
  /** What the secret's tags bind (as the construct deploys them): every token minted for it must follow this. */
  readonly binding: { readonly roleId: string; readonly adminSecretArn?: string };
  /** The value as created: the source of truth for the keys the rotator does not own. */
  readonly initialValue: Record<string, unknown>;
  /** Tokens made for this secret outside the rotation (the operator's first token). */
  readonly seedClientIds: string[];
}

export interface StageValue {
  readonly versionId: string;
  readonly value?: string;
}

export function secretsManagerClient(endpoint: string): SecretsManagerClient {
  return new SecretsManagerClient({
    endpoint, region: REGION, credentials: { accessKeyId: 'AKIAE2ETESTDUMMY0000', secretAccessKey: 'e2e-dummy-secret-key' }, maxAttempts: 2,
  });
}

export function effectivePolicy(secret: RotatedSecret): RevocationPolicy {
  return secret.policyTag === 'IMMEDIATELY' ? 'IMMEDIATELY' : 'AT_NEXT_ROTATION';
}

export interface SecretOptions {
  readonly mode: RotationMode;
  readonly policyTag?: string;
  /** The role the secret is bound to (tag), of its seed token and of what it mints; defaults to one that fits the mode. */
  readonly roleId?: string;
  /** The seed token's role when it differs from the bound one (a bootstrap with an admin's token). */
  readonly seedRoleId?: string;
  /** Tags merged over the binding the construct would write (a tag set to undefined is removed). */
  readonly tags?: Record<string, string | undefined>;
  /** Admin mode: the admin secret to use; one is created (Organization Administrator) when absent. */
  readonly rootarn?: string;
  /** Keys merged over the generated value (a key set to undefined is removed). */
  readonly overrides?: Record<string, unknown>;
  /** A raw SecretString that replaces the generated value entirely. */
  readonly rawValue?: string;
  readonly seedToken?: boolean;
}

/** Creates the secrets a scenario rotates, each with a token seeded in the emulator as an operator would make it. */
export class SecretsFixture {
  private counter = 0;

  constructor(
    public readonly sm: SecretsManagerClient,
    private readonly astra: AstraEmulatorProcess,
    private readonly prefix: string,
  ) {}

  public uniqueName(label: string): string {
    this.counter += 1;
    return `${this.prefix}-${label}-${this.counter}-${randomBytes(3).toString('hex')}`;
  }

  /** A secret holding an admin token, as `rootarn` points at. */
  public async createAdminSecret(roleId = this.astra.roles.orgAdmin.id, value?: string): Promise<{ arn: string; clientId?: string; token?: string }> {
    let clientId: string | undefined;
    let token: string | undefined;
    let secretString = value;
    if (secretString === undefined) {
      const t = await this.astra.seedToken(roleId, 'admin token (seeded by the e2e test)');
      clientId = t.clientId;
      token = t.token;
      secretString = JSON.stringify({ astraKey: t.token, clientID: t.clientId, clientSecret: t.secret, roleID: roleId });
    }
    const created = await this.sm.send(new CreateSecretCommand({ Name: this.uniqueName('admin'), SecretString: secretString }));
    return { arn: created.ARN!, clientId, token };
  }

  public async createRotatedSecret(options: SecretOptions): Promise<RotatedSecret> {
    const name = this.uniqueName(options.mode);
    const roleId = options.roleId ?? (options.mode === 'self' ? this.astra.roles.dbAdmin.id : this.astra.roles.apiUser.id);
    const seedClientIds: string[] = [];
    let value: Record<string, unknown> = { roleID: roleId, engine: 'AstraDB', application: 'orders-service', owner: { team: 'e2e' } };
    if (options.seedToken !== false) {
      const t = await this.astra.seedToken(options.seedRoleId ?? roleId, `seed ${name}`);
      seedClientIds.push(t.clientId);
      value = { astraKey: t.token, clientID: t.clientId, clientSecret: t.secret, ...value };
    }
    if (options.mode === 'admin') value.rootarn = options.rootarn ?? (await this.createAdminSecret()).arn;
    for (const [k, v] of Object.entries(options.overrides ?? {})) {
      if (v === undefined) delete value[k];
      else value[k] = v;
    }
    const secretString = options.rawValue ?? JSON.stringify(value);
    const adminSecretArn = options.mode === 'admin' ? (value.rootarn as string | undefined) ?? options.rootarn : undefined;
    const tags: Record<string, string | undefined> = {
      [ROLE_TAG]: roleId,
      ...(adminSecretArn ? { [ADMIN_TAG]: adminSecretArn } : {}),
      ...(options.policyTag !== undefined ? { [POLICY_TAG]: options.policyTag } : {}),
      ...options.tags,
    };
    const created = await this.sm.send(new CreateSecretCommand({
      Name: name,
      SecretString: secretString,
      Tags: Object.entries(tags).filter((t): t is [string, string] => t[1] !== undefined).map(([Key, Value]) => ({ Key, Value })),
    }));
    const initialValue = options.rawValue === undefined ? value : {};
    const binding = { roleId: tags[ROLE_TAG] ?? roleId, adminSecretArn: tags[ADMIN_TAG] };
    return { name, arn: created.ARN!, mode: options.mode, policyTag: options.policyTag, binding, initialValue, seedClientIds };
  }

  /** A new AWSCURRENT version with this value: what anyone with secretsmanager:PutSecretValue can write. */
  public async putCurrent(secretId: string, secretString: string): Promise<void> {
    const [before, labels] = Object.entries(await this.stages(secretId)).find(([, l]) => l.includes('AWSCURRENT')) ?? [];
    // A finished rotation's AWSPENDING would stay on the demoted version and block the next RotateSecret.
    if (before && labels?.includes('AWSPENDING')) {
      await this.sm.send(new UpdateSecretVersionStageCommand({ SecretId: secretId, VersionStage: 'AWSPENDING', RemoveFromVersionId: before }));
    }
    const put = await this.sm.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: secretString, VersionStages: ['AWSCURRENT'] }));
    // moto demotes the version its PutSecretValue last made current, not the one UpdateSecretVersionStage promoted since:
    // the promoted one keeps AWSCURRENT beside the new one. AWS moves the label, and the old version becomes AWSPREVIOUS.
    const stages = await this.stages(secretId);
    if (before && before !== put.VersionId && stages[before]?.includes('AWSCURRENT')) {
      await this.sm.send(new UpdateSecretVersionStageCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT', RemoveFromVersionId: before }));
    }
    const current = Object.values(await this.stages(secretId)).filter((l) => l.includes('AWSCURRENT'));
    if (current.length !== 1) throw new Error(`after PutSecretValue ${current.length} versions of ${secretId} are AWSCURRENT`);
  }

  /** Reads by stage, always naming it: moto returns stale values when the stage is left out. */
  /**
   * The value a stage labels, in one call (by stage alone: moto answers the labelled version, quirk 1 is only about
   * reads with no stage). A staged version always holds a value here: the function writes none without one.
   */
  public async readStage(secretId: string, stage: 'AWSCURRENT' | 'AWSPREVIOUS'): Promise<StageValue | undefined> {
    try {
      const got = await this.sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
      return { versionId: got.VersionId!, value: got.SecretString };
    } catch (e) {
      if ((e as Error).name === 'ResourceNotFoundException') return undefined;
      throw e;
    }
  }

  public async stages(secretId: string): Promise<Record<string, string[]>> {
    const d = await this.sm.send(new DescribeSecretCommand({ SecretId: secretId }));
    return (d.VersionIdsToStages ?? {}) as Record<string, string[]>;
  }

  /** Every version with the value it holds (versions with no value, e.g. an empty AWSPENDING, hold undefined). */
  public async versionValues(secretId: string): Promise<Record<string, string | undefined>> {
    const listed = await this.sm.send(new ListSecretVersionIdsCommand({ SecretId: secretId, IncludeDeprecated: true }));
    const out: Record<string, string | undefined> = {};
    for (const v of listed.Versions ?? []) {
      try {
        const got = await this.sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: v.VersionId }));
        out[v.VersionId!] = got.SecretString;
      } catch {
        out[v.VersionId!] = undefined;
      }
    }
    return out;
  }
}
