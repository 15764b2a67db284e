import { CloudFormationClient, DescribeStacksCommand, GetTemplateCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { AwsStub, mockClient } from 'aws-sdk-client-mock';
import type { FakeSecretsManager } from './fake-secrets-manager';

export const STACK_ID = 'arn:aws:cloudformation:us-east-1:123456789012:stack/S/0e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7';
export const TEARDOWN_ID = 'AstraTokenRotationTokenTeardown';
export const ESCROW_ID = 'AstraTokenRotationTokenTeardownEscrow';

interface TemplateResource {
  Type: string;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Properties?: { Secrets?: Array<{ Arn: { Ref: string } }>; Escrow?: { Ref: string } };
}

/**
 * CloudFormation's view of one stack, behind aws-sdk-client-mock: its status, its resources (logical id -> physical
 * id) and its current template. A test moves it through a phase and checks what the teardown does in it.
 */
export class FakeStack {
  public readonly mock: AwsStub<any, any, any>;
  public status = 'DELETE_IN_PROGRESS';
  /**
   * When the operation began (DeletionTime, LastUpdatedTime): by default an hour ago, too long for a retry of the request
   * to continue its work. Unset: DescribeStacks shows neither.
   */
  public startedAt?: Date = new Date(Date.now() - 60 * 60_000);
  public readonly resources = new Map<string, { physicalId: string; type: string }>();
  public readonly template: { Resources: Record<string, TemplateResource> } = { Resources: {} };
  public readonly calls: string[] = [];
  /** The teardown's escrow, as the construct declares it beside the teardown. */
  public readonly escrowArn: string;

  constructor(private readonly sm: FakeSecretsManager) {
    this.mock = mockClient(CloudFormationClient);
    this.mock.on(DescribeStacksCommand).callsFake((input) => {
      this.calls.push(`DescribeStacks ${input.StackName}`);
      if (input.StackName !== STACK_ID) throw Object.assign(new Error(`Stack with id ${input.StackName} does not exist`), { name: 'ValidationError' });
      return {
        Stacks: [{
          StackId: STACK_ID,
          StackName: 'S',
          StackStatus: this.status,
          CreationTime: new Date(0),
          ...this.startedAt ? { DeletionTime: this.startedAt, LastUpdatedTime: this.startedAt } : {},
        }],
      };
    });
    this.mock.on(ListStackResourcesCommand).callsFake(() => {
      this.calls.push('ListStackResources');
      return {
        StackResourceSummaries: [...this.resources].map(([LogicalResourceId, r]) => ({
          LogicalResourceId, PhysicalResourceId: r.physicalId, ResourceType: r.type, ResourceStatus: 'UPDATE_COMPLETE', LastUpdatedTimestamp: new Date(),
        })),
      };
    });
    this.mock.on(GetTemplateCommand).callsFake(() => {
      this.calls.push('GetTemplate');
      return { TemplateBody: JSON.stringify(this.template) };
    });
    this.teardown('teardown-1');
    this.escrowArn = this.sm.create('teardown-escrow', '{}', { rotationEnabled: false });
    this.resources.set(ESCROW_ID, { physicalId: this.escrowArn, type: 'AWS::SecretsManager::Secret' });
    this.template.Resources[ESCROW_ID] = { Type: 'AWS::SecretsManager::Secret' };
    this.template.Resources[TEARDOWN_ID].Properties!.Escrow = { Ref: ESCROW_ID };
  }

  /** The template of a stack deployed before the escrow existed: the teardown names none. */
  public withoutEscrow(): void {
    delete this.template.Resources[TEARDOWN_ID].Properties!.Escrow;
  }

  public restore(): void {
    this.mock.restore();
  }

  /** The teardown resource's current physical id. */
  public teardown(physicalId: string): void {
    this.resources.set(TEARDOWN_ID, { physicalId, type: 'Custom::AstraTokenTeardown' });
    const declared = this.template.Resources[TEARDOWN_ID]?.Properties?.Secrets ?? [];
    const escrow = this.template.Resources[TEARDOWN_ID]?.Properties?.Escrow;
    this.template.Resources[TEARDOWN_ID] = { Type: 'Custom::AstraTokenTeardown', Properties: { Secrets: declared, ...escrow ? { Escrow: escrow } : {} } };
  }

  /**
   * Makes a secret the stack's resource `logicalId`, as CloudFormation creates it: its aws:cloudformation tags, and the
   * DeletionPolicy tag the construct renders; the template carries the same policies.
   */
  public adopt(arn: string, logicalId: string, policies: { DeletionPolicy?: string; UpdateReplacePolicy?: string } = {}): string {
    const secret = this.sm.secrets.get(arn)!;
    secret.tags = secret.tags.filter((t) => !t.Key.startsWith('aws:cloudformation:') && t.Key !== 'astra-token-secret:deletion-policy');
    secret.tags.push(
      { Key: 'aws:cloudformation:stack-id', Value: STACK_ID },
      { Key: 'aws:cloudformation:logical-id', Value: logicalId },
      { Key: 'astra-token-secret:deletion-policy', Value: policies.DeletionPolicy ?? 'Delete' },
    );
    this.resources.set(logicalId, { physicalId: arn, type: 'AWS::SecretsManager::Secret' });
    this.template.Resources[logicalId] = { Type: 'AWS::SecretsManager::Secret', ...policies };
    this.template.Resources[TEARDOWN_ID].Properties!.Secrets!.push({ Arn: { Ref: logicalId } });
    return arn;
  }

  /** The secret's resource is gone from the current template (a deploy removed it); CloudFormation still lists it. */
  public removeFromTemplate(logicalId: string): void {
    delete this.template.Resources[logicalId];
    const declared = this.template.Resources[TEARDOWN_ID].Properties!.Secrets!;
    declared.splice(declared.findIndex((e) => e.Arn.Ref === logicalId), 1);
  }
}
