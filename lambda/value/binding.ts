import { ROLE_UUID } from '../../src/shared/role-uuid';
import { ADMIN_SECRET_ARN_TAG, MAX_TOKEN_LIFETIME_TAG, ROLE_ID_TAG } from '../../src/shared/secret-tags';
import { RotationFailure } from '../logging/errors';

/** What a secret's tokens may do, as deployed: the role they get and who mints them. Never taken from the value. */
export interface SecretBinding {
  readonly roleId: string;
  /** The secret whose AWSCURRENT token mints and revokes; undefined when the secret rotates itself. */
  readonly adminSecretArn?: string;
  /** How long a minted token may live; undefined when no expiry is asked for. */
  readonly maxTokenLifetimeSeconds?: number;
}

export type SecretTags = ReadonlyArray<{ Key?: string; Value?: string }> | undefined;

export const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

/** Reads the binding from the secret's tags; a missing or malformed one is refused before anything is minted. */
export function readBinding(tags: SecretTags, secretArn: string): SecretBinding {
  const tag = (key: string) => tags?.find((t) => t.Key === key)?.Value?.trim() || undefined;
  const roleId = tag(ROLE_ID_TAG);
  const tagCommand = `aws secretsmanager tag-resource --secret-id ${secretArn} --tags Key=${ROLE_ID_TAG},Value=<role uuid>`;
  if (!roleId) {
    throw new RotationFailure(`the secret has no tag ${ROLE_ID_TAG}, which binds the Astra role its tokens get.`,
      `Deploy the secret with the AstraTokenSecret construct, or tag it: ${tagCommand} (and Key=${ADMIN_SECRET_ARN_TAG},Value=<admin secret ARN> when an admin token mints).`);
  }
  if (!ROLE_UUID.test(roleId)) {
    throw new RotationFailure(`the tag ${ROLE_ID_TAG} is not a role UUID (8-4-4-4-12 hexadecimal digits).`,
      `Set it to the role's UUID (GET /v2/organizations/roles or the Astra portal), not its name: ${tagCommand}.`);
  }
  const adminSecretArn = tag(ADMIN_SECRET_ARN_TAG);
  if (adminSecretArn !== undefined) {
    if (!SECRET_ARN.test(adminSecretArn)) {
      throw new RotationFailure(`the tag ${ADMIN_SECRET_ARN_TAG} is not a Secrets Manager secret ARN (arn:<partition>:secretsmanager:<region>:<account>:secret:<name>).`,
        'Set it to the ARN of the secret holding the admin token, or remove it to let the secret rotate itself.');
    }
    if (sameSecret(adminSecretArn, secretArn)) {
      throw new RotationFailure(`the tag ${ADMIN_SECRET_ARN_TAG} names this secret itself.`,
        'Point it at a separate admin secret, or remove it to let the secret rotate itself.');
    }
  }
  const lifetime = tag(MAX_TOKEN_LIFETIME_TAG);
  if (lifetime !== undefined && !/^[1-9]\d{0,9}$/.test(lifetime)) {
    throw new RotationFailure(`the tag ${MAX_TOKEN_LIFETIME_TAG} is not a whole number of seconds.`,
      'Set it through the construct\'s maxTokenLifetime, or remove it to ask for no expiry.');
  }
  return { roleId, adminSecretArn, maxTokenLifetimeSeconds: lifetime === undefined ? undefined : Number(lifetime) };
}

/** Where a value's `roleID` or `rootarn` say something else than the binding: reported, never obeyed. */
export function disagreements(value: { readonly roleID?: string; readonly rootarn?: string }, binding: SecretBinding, stage: string): string[] {
  const found: string[] = [];
  if (value.roleID !== undefined && value.roleID.toLowerCase() !== binding.roleId.toLowerCase()) {
    found.push(`${stage}'s "roleID" is not the role the tag ${ROLE_ID_TAG} binds; the tag's role is used`);
  }
  if (value.rootarn !== undefined && !(binding.adminSecretArn && sameSecret(value.rootarn, binding.adminSecretArn))) {
    found.push(binding.adminSecretArn
      ? `${stage}'s "rootarn" is not the admin secret the tag ${ADMIN_SECRET_ARN_TAG} binds; the tag's admin secret mints`
      : `${stage} has a "rootarn" but the secret rotates itself (no tag ${ADMIN_SECRET_ARN_TAG}); it is ignored and dropped from the new version`);
  }
  return found;
}

/** A partial ARN (a secret imported by name) names the secret whose full ARN adds `-` and six characters. */
function sameSecret(a: string, b: string): boolean {
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  return long === short || (long.length === short.length + 7 && long.startsWith(`${short}-`));
}
