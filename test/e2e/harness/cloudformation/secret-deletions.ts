import { GetSecretValueCommand, ListSecretVersionIdsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretLedger } from './secret-ledger';

/**
 * Secrets Manager's side of a secret's deletion, whoever asks for it (CloudFormation, or the rotation function through
 * the IAM proxy): the secrets it refuses to delete (replica regions, a resource policy: a test's fault, refused to every
 * caller alike, as AWS does), and the ledger entry written before a secret goes, with every clientId its versions held.
 */
export class SecretDeletions {
  private readonly refusals = new Map<string, string>();

  constructor(private readonly sm: SecretsManagerClient, private readonly ledger: SecretLedger) {}

  /** From now on, Secrets Manager refuses to delete this secret, with AWS's InvalidRequestException message. */
  public refuse(arn: string, message = `You can't delete secret ${arn} because it still has replica regions.`): void {
    this.refusals.set(arn, message);
  }

  /** The cause is gone (the replicas removed): the secret can be deleted again. */
  public allow(arn: string): void {
    this.refusals.delete(arn);
  }

  public refusal(arn: string): string | undefined {
    return this.refusals.get(arn);
  }

  /** Writes the ledger entry of a secret about to be deleted: afterwards nothing can be read from it. */
  public async recordDeletion(arn: string, during: string): Promise<void> {
    this.ledger.deleted(arn, during, await this.clientIdsOf(arn));
  }

  /** Every clientId any version holds (its own, and those it still owes a revocation). */
  private async clientIdsOf(arn: string): Promise<string[]> {
    const ids: string[] = [];
    try {
      const listed = await this.sm.send(new ListSecretVersionIdsCommand({ SecretId: arn, IncludeDeprecated: true }));
      for (const v of listed.Versions ?? []) {
        try {
          const got = await this.sm.send(new GetSecretValueCommand({ SecretId: arn, VersionId: v.VersionId }));
          const value = JSON.parse(got.SecretString ?? '{}') as { clientID?: unknown; pendingRevocations?: unknown };
          if (typeof value.clientID === 'string') ids.push(value.clientID);
          if (Array.isArray(value.pendingRevocations)) ids.push(...value.pendingRevocations.filter((c): c is string => typeof c === 'string'));
        } catch {
          // A version with no value (an empty AWSPENDING), or one that is not JSON.
        }
      }
    } catch {
      // Already gone.
    }
    return ids;
  }
}
