import type { Rotation } from './rotation';
import { AWSCURRENT } from '../clients/secret-store';
import { AstraApiError, RotationFailure, messageOf, rateLimitRemedy } from '../logging/errors';
import { AstraSecretValue, clientIdOfToken, parseSecretString } from '../value/secret-value';

/** The token that mints and revokes: the bound admin secret's or, in self-rotation, one of the secret's own. */
export interface Authority {
  readonly bearer: string;
  readonly clientId?: string;
  readonly description: string;
}

export async function adminAuthority(rotation: Pick<Rotation, 'store' | 'redactor'>, adminSecretArn: string): Promise<Authority> {
  const remedy = `Make sure ${adminSecretArn} (the tag astra-token-secret:admin-secret-arn) exists, holds a JSON value with the admin token in "astraKey", and that the rotation function may read it (secretsmanager:GetSecretValue, kms:Decrypt).`;
  let text: string | undefined;
  try {
    text = await rotation.store.valueOf(adminSecretArn, { stage: AWSCURRENT });
  } catch (error) {
    throw new RotationFailure(`the admin secret ${adminSecretArn} could not be read: ${messageOf(error)}`, remedy);
  }
  if (text === undefined) throw new RotationFailure(`the admin secret ${adminSecretArn} has no AWSCURRENT value.`, remedy);
  const admin = parseSecretString(text, `the admin secret ${adminSecretArn}`, rotation.redactor);
  if (!admin.astraKey) throw new RotationFailure(`the admin secret ${adminSecretArn} has no "astraKey".`, remedy);
  return { bearer: admin.astraKey, clientId: admin.clientId, description: `the admin token in ${adminSecretArn}` };
}

export function selfAuthority(value: AstraSecretValue, which: string): Authority | undefined {
  if (!value.astraKey) return undefined;
  // The clientId its key names, never the value's `clientID` beside a key in another form: that is a claim, not this token's.
  return { bearer: value.astraKey, clientId: clientIdOfToken(value.astraKey), description: `the ${which} token of the secret` };
}

/**
 * Turns a mint that created no token into the operator's next move; the secret is unchanged. Mints whose outcome is
 * unknown (no answer, 5xx, an unusable 2xx) never come here: rotation/mint.ts sweeps and retries them.
 */
export function mintFailure(error: unknown, authority: Authority, lifetimeSeconds?: number): RotationFailure {
  if (!(error instanceof AstraApiError)) return new RotationFailure(`minting failed: ${messageOf(error)}.`, 'Rotation will be retried.');
  if (!error.sent) return new RotationFailure(`${error.message}.`, 'The token was not minted. Rotation will be retried.');
  if (error.status === 429) return new RotationFailure(`${error.message}; no token was minted.`, rateLimitRemedy('Astra'));
  if (error.status === 401 || error.status === 403) {
    return new RotationFailure(`${authority.description} may not mint tokens: ${error.message}.`,
      'Give that token a role with the token-write permission (Organization Administrator, Database Administrator or a custom role with org-token-write), or replace it with a valid token.');
  }
  if (lifetimeSeconds !== undefined && error.status === 400) {
    return new RotationFailure(`${error.message}: the mint asked for an expiry ${lifetimeSeconds} s from now (maxTokenLifetime).`,
      'If the organization caps token lifetime below that, lower maxTokenLifetime (or raise the cap); otherwise check the bound role. Rotation will be retried.');
  }
  return new RotationFailure(`${error.message}.`,
    'Check the role the tag astra-token-secret:role-id binds (a role UUID of this organization) and ASTRA_API_URL; rotation will be retried.');
}
