import { randomBytes } from 'node:crypto';
import {
  CreateSecretCommand, DeleteSecretCommand,
  TagResourceCommand, UntagResourceCommand, UpdateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import type { ModelServices } from './model-services';
import type { ProviderResult, ResourceProvider, ResourceRequest } from './provider';
import { suffixOf } from './resource-names';

type Tag = { Key: string; Value: string };

/**
 * AWS::SecretsManager::Secret on moto. Name is the only property whose change replaces the secret; Description,
 * SecretString (or GenerateSecretString) and Tags are updated in place (a new SecretString is a new AWSCURRENT
 * version, as on AWS). KmsKeyId and ReplicaRegions are accepted and ignored. Delete is CloudFormation's: at once, with
 * no recovery window, and "not found" counts as deleted (the rotation function may have deleted it first). Before a
 * secret goes, every clientId in its versions is written to the ledger, for the invariant that a deleted secret leaves
 * no live token. A secret Secrets Manager refuses to delete (a test's fault, see secret-deletions.ts) fails the delete.
 */
export class SecretProvider implements ResourceProvider {
  constructor(private readonly services: ModelServices) {}

  public replaces(oldProperties: Record<string, unknown>, newProperties: Record<string, unknown>): boolean {
    return oldProperties.Name !== newProperties.Name;
  }

  public async create(request: ResourceRequest): Promise<ProviderResult> {
    const p = request.properties;
    // CloudFormation names an unnamed secret `<logical id>-<12 characters>`.
    const name = typeof p.Name === 'string' ? p.Name : `${request.logicalId}-${suffixOf(request.stack.id, request.logicalId, String(request.stack.operation))}`;
    const created = await this.services.sm.send(new CreateSecretCommand({
      Name: name,
      Description: p.Description as string | undefined,
      SecretString: secretStringOf(p),
      Tags: this.tagsOf(request),
    }));
    this.services.ledger.created(created.ARN!, `${request.stack.name}/${request.logicalId}`);
    return { physicalId: created.ARN!, attributes: { Id: created.ARN! } };
  }

  public async update(request: ResourceRequest): Promise<ProviderResult> {
    const arn = request.physicalId!;
    const [p, old] = [request.properties, request.oldProperties ?? {}];
    const changedValue = JSON.stringify([p.SecretString, p.GenerateSecretString]) !== JSON.stringify([old.SecretString, old.GenerateSecretString]);
    if (p.Description !== old.Description || changedValue) {
      await this.services.sm.send(new UpdateSecretCommand({
        SecretId: arn, Description: (p.Description as string | undefined) ?? '', SecretString: changedValue ? secretStringOf(p) : undefined,
      }));
    }
    const [now, before] = [this.tagsOf(request), this.tagsOf({ ...request, properties: old })];
    const removed = before.filter((t) => !now.some((n) => n.Key === t.Key)).map((t) => t.Key);
    if (removed.length) await this.services.sm.send(new UntagResourceCommand({ SecretId: arn, TagKeys: removed }));
    const changed = now.filter((t) => !before.some((b) => b.Key === t.Key && b.Value === t.Value));
    if (changed.length) await this.services.sm.send(new TagResourceCommand({ SecretId: arn, Tags: changed }));
    return { physicalId: arn, attributes: { Id: arn } };
  }

  public async delete(request: ResourceRequest): Promise<void> {
    const arn = request.physicalId!;
    const refused = this.services.deletions.refusal(arn);
    if (refused) throw new Error(refused);
    await this.services.deletions.recordDeletion(arn, `${request.stack.name} ${request.phase}`);
    try {
      await this.services.sm.send(new DeleteSecretCommand({ SecretId: arn, ForceDeleteWithoutRecovery: true }));
    } catch (e) {
      if ((e as Error).name !== 'ResourceNotFoundException') throw e;
    }
  }

  private tagsOf(request: Pick<ResourceRequest, 'properties' | 'stack' | 'logicalId'>): Tag[] {
    const own = ((request.properties.Tags as Tag[] | undefined) ?? []).map((t) => ({ Key: String(t.Key), Value: String(t.Value) }));
    if (!this.services.options.cloudFormationTags) return own;
    return [
      ...own,
      { Key: 'aws:cloudformation:stack-name', Value: request.stack.name },
      { Key: 'aws:cloudformation:stack-id', Value: request.stack.id },
      { Key: 'aws:cloudformation:logical-id', Value: request.logicalId },
    ];
  }
}

/** SecretString as given, or what GenerateSecretString describes (a random password, optionally in a JSON template). */
function secretStringOf(p: Record<string, unknown>): string {
  if (typeof p.SecretString === 'string') return p.SecretString;
  const g = (p.GenerateSecretString ?? {}) as { SecretStringTemplate?: string; GenerateStringKey?: string; PasswordLength?: number | string };
  const password = randomBytes(64).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, Number(g.PasswordLength ?? 32));
  if (!g.SecretStringTemplate || !g.GenerateStringKey) return password;
  return JSON.stringify({ ...JSON.parse(g.SecretStringTemplate), [g.GenerateStringKey]: password });
}
