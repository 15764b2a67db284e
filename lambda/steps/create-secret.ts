import { MalformedMintResponse, MintedToken } from '../astra-client';
import { Authority, adminAuthority, mintFailure, revokeAll, selfAuthority } from '../authority';
import { RotationFailure, messageOf } from '../errors';
import { Rotation } from '../rotation';
import { AstraSecretValue, isUuid, nextSecretString, parseSecretString, validateRotatable } from '../secret-value';
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS } from '../secrets';

export async function createSecret(rotation: Rotation): Promise<string> {
  const { store, event, report, redactor } = rotation;
  const pendingText = await store.valueOf(event.secretId, { versionId: event.token, stage: AWSPENDING });
  if (pendingText !== undefined) {
    const pending = parseSecretString(pendingText, 'AWSPENDING', redactor);
    if (pending.astraKey) {
      report.clientIds.pending = pending.clientId;
      return 'already-created';
    }
    throw new RotationFailure('this AWSPENDING version already holds a value without a token, and a version\'s value cannot be replaced.',
      `Remove the label (aws secretsmanager update-secret-version-stage --secret-id ${rotation.secretArn} --version-stage AWSPENDING --remove-from-version-id ${event.token}) and rotate again.`);
  }

  const current = await readCurrent(rotation);
  validateRotatable(current, rotation.secretArn);
  report.mode = current.rootarn ? 'admin' : 'self-rotation';
  report.clientIds.current = current.clientId;
  const previous = await readPrevious(rotation);
  report.clientIds.previous = previous?.clientId;

  const authority: Authority = current.rootarn ? await adminAuthority(rotation, current.rootarn) : selfAuthority(current, 'current')!;
  const roles = await rolesToMint(rotation, current, authority);
  // Tokens the policy keeps live until finishSecret promotes the new one; nothing here may revoke them.
  const live = [current.clientId, previous?.clientId];

  const stillLive = await revokeAll(rotation, authority, current.pendingRevocations, live);
  stillLive.push(...await cleanUpAbandonedVersions(rotation, authority, live));

  const description = `cdk-astra-token-secret ${rotation.secretName} ${event.token}`;
  const minted = await mint(rotation, authority, roles, description);
  report.clientIds.pending = minted.clientId;

  const dueAfterPromotion = rotation.policy === 'IMMEDIATELY' ? [current.clientId, previous?.clientId] : [previous?.clientId];
  const pendingRevocations = [...new Set([...stillLive, ...dueAfterPromotion])]
    .filter((c): c is string => !!c && c !== minted.clientId && (rotation.policy === 'IMMEDIATELY' || c !== current.clientId));

  try {
    await store.putPending(event.secretId, event.token, nextSecretString(current, minted, pendingRevocations));
  } catch (error) {
    throw await revokeAfterFailedPut(rotation, authority, minted, error);
  }
  return 'created';
}

async function readCurrent(rotation: Rotation): Promise<AstraSecretValue> {
  const text = await rotation.store.valueOf(rotation.event.secretId, { versionId: rotation.currentVersionId, stage: AWSCURRENT });
  if (text === undefined) {
    throw new RotationFailure('the secret has no AWSCURRENT value.', 'Put an initial value ({"roleID": ..., "engine": "AstraDB", ...}) before rotating.');
  }
  return parseSecretString(text, 'AWSCURRENT', rotation.redactor);
}

/** AWSPREVIOUS only matters for whose token to revoke; an unreadable or placeholder one has no token to revoke. */
async function readPrevious(rotation: Rotation): Promise<AstraSecretValue | undefined> {
  if (!rotation.previousVersionId || rotation.previousVersionId === rotation.currentVersionId) return undefined;
  try {
    const text = await rotation.store.valueOf(rotation.event.secretId, { versionId: rotation.previousVersionId, stage: AWSPREVIOUS });
    return text === undefined ? undefined : parseSecretString(text, 'AWSPREVIOUS', rotation.redactor);
  } catch (error) {
    rotation.report.notes.push(`AWSPREVIOUS ignored: ${messageOf(error)}`);
    return undefined;
  }
}

/** DataStax's rotator format has no roleID: the current token's roles come from Astra, as that rotator did. */
async function rolesToMint(rotation: Rotation, current: AstraSecretValue, authority: Authority): Promise<string[]> {
  if (current.roleID) return [current.roleID];
  const remedy = 'Add "roleID" (the Astra role\'s UUID) to the secret value.';
  if (!current.clientId) throw new RotationFailure('AWSCURRENT has no "roleID" and no clientID to look its roles up by.', remedy);
  let roles: string[] | undefined;
  try {
    roles = (await rotation.astra.listClients(authority.bearer)).find((c) => c.clientId === current.clientId)?.roles;
  } catch (error) {
    throw new RotationFailure(`AWSCURRENT has no "roleID" and its roles could not be looked up: ${messageOf(error)}.`, remedy);
  }
  if (!roles || roles.length === 0 || !roles.every(isUuid)) {
    throw new RotationFailure(`AWSCURRENT has no "roleID" and Astra lists no role UUIDs for its clientID ${current.clientId}.`, remedy);
  }
  return roles;
}

/**
 * Versions left by rotations that never finished: no stage (or a stray AWSPENDING) and newer than AWSCURRENT.
 * Their tokens, and the revocations they had queued, are revoked now; live tokens are never touched, because
 * such a version may be a copy of AWSCURRENT (Secrets Manager's configuration test makes one).
 */
async function cleanUpAbandonedVersions(rotation: Rotation, authority: Authority, live: Array<string | undefined>): Promise<string[]> {
  const { store, event, report } = rotation;
  const versions = await store.listVersions(event.secretId);
  const currentCreated = versions.find((v) => v.VersionId === rotation.currentVersionId)?.CreatedDate?.getTime() ?? 0;
  const stillLive: string[] = [];
  for (const version of versions) {
    const id = version.VersionId;
    const stages = version.VersionStages ?? [];
    const abandoned = stages.length === 0 || (stages.length === 1 && stages[0] === AWSPENDING);
    if (!id || id === event.token || id === rotation.currentVersionId || id === rotation.previousVersionId || !abandoned) continue;
    if ((version.CreatedDate?.getTime() ?? 0) <= currentCreated) continue;
    let value: AstraSecretValue | undefined;
    try {
      const text = await store.valueOf(event.secretId, { versionId: id });
      value = text === undefined ? undefined : parseSecretString(text, `abandoned version ${id}`, rotation.redactor);
    } catch (error) {
      report.notes.push(`abandoned version ${id} unreadable: ${messageOf(error)}`);
    }
    if (value) {
      stillLive.push(...await revokeAll(rotation, authority, [value.clientId, ...value.pendingRevocations].filter((c): c is string => !!c), live));
    }
    if (stages.includes(AWSPENDING)) await store.removeStage(event.secretId, AWSPENDING, id);
    report.notes.push(`abandoned version ${id} cleaned up`);
  }
  return stillLive;
}

async function mint(rotation: Rotation, authority: Authority, roles: string[], description: string): Promise<MintedToken> {
  try {
    return await rotation.astra.mint(authority.bearer, roles, description);
  } catch (error) {
    if (error instanceof MalformedMintResponse && error.clientId) {
      const leaked = await revokeAll(rotation, authority, [error.clientId]);
      throw new RotationFailure(`${error.message}.`, leaked.length
        ? `The half-minted token ${error.clientId} could not be revoked: revoke it in Astra.`
        : `The half-minted token ${error.clientId} was revoked; rotation will be retried.`);
    }
    throw mintFailure(error, authority, description);
  }
}

async function revokeAfterFailedPut(rotation: Rotation, authority: Authority, minted: MintedToken, error: unknown): Promise<RotationFailure> {
  const leaked = await revokeAll(rotation, authority, [minted.clientId]);
  const reason = `storing the new token as AWSPENDING failed: ${messageOf(error)}`;
  return leaked.length
    ? new RotationFailure(`${reason} Revoking the new token ${minted.clientId} failed too.`, `Revoke token ${minted.clientId} in Astra by hand, then fix the cause; rotation will be retried.`)
    : new RotationFailure(`${reason} The new token ${minted.clientId} was revoked.`, 'Fix the cause (permissions, KMS key, secret size); rotation will be retried.');
}
