import { CancelRotateSecretCommand, DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { ModelServices } from './model-services';
import { ProviderResult, ResourceFailure, ResourceProvider, ResourceRequest } from './provider';
import type { RotationRunner } from './rotation-runner';

/**
 * AWS::SecretsManager::RotationSchedule: Create and Update call RotateSecret with the template's function and rules
 * (RotateImmediatelyOnUpdate, default true, decides whether a rotation starts); the rotation's steps run after the
 * resource is complete (the engine decides when, see RotationTiming). A new SecretId replaces the resource; Delete is
 * CancelRotateSecret. The physical id, and Ref, is the secret's ARN.
 */
export class RotationScheduleProvider implements ResourceProvider {
  constructor(private readonly services: ModelServices, private readonly rotations: RotationRunner) {}

  public replaces(oldProperties: Record<string, unknown>, newProperties: Record<string, unknown>): boolean {
    return oldProperties.SecretId !== newProperties.SecretId;
  }

  public create(request: ResourceRequest): Promise<ProviderResult> {
    return this.schedule(request);
  }

  public update(request: ResourceRequest): Promise<ProviderResult> {
    return this.schedule(request);
  }

  public async delete(request: ResourceRequest): Promise<void> {
    try {
      await this.services.sm.send(new CancelRotateSecretCommand({ SecretId: request.physicalId! }));
    } catch (e) {
      // The secret went first (it was deleted outside the stack), or it has no rotation to cancel: nothing to do.
      if (!['ResourceNotFoundException', 'InvalidRequestException'].includes((e as Error).name)) throw e;
    }
  }

  private async schedule(request: ResourceRequest): Promise<ProviderResult> {
    const p = request.properties;
    if (p.HostedRotationLambda !== undefined) throw new ResourceFailure('the model does not run hosted rotation Lambdas');
    const functionArn = String(p.RotationLambdaARN ?? '');
    let secretArn: string;
    try {
      secretArn = (await this.services.sm.send(new DescribeSecretCommand({ SecretId: String(p.SecretId) }))).ARN!;
    } catch (e) {
      throw new ResourceFailure(`Secrets Manager can't find the specified secret ${String(p.SecretId)} (${(e as Error).name})`);
    }
    const rules = (p.RotationRules ?? {}) as Record<string, unknown>;
    const rotationRules = {
      AutomaticallyAfterDays: daysOf(rules),
      ...(rules.Duration !== undefined ? { Duration: String(rules.Duration) } : {}),
    };
    const rotateImmediately = String(p.RotateImmediatelyOnUpdate ?? 'true') !== 'false';
    let token: string;
    try {
      token = await this.rotations.start(secretArn, { rotationLambdaArn: functionArn, rotationRules, rotateImmediately });
    } catch (e) {
      throw new ResourceFailure(`RotateSecret failed: ${(e as Error).message}`);
    }
    const stack = request.stack;
    return {
      physicalId: secretArn,
      afterComplete: rotateImmediately ? async () => {
        await this.rotations.run(secretArn, functionArn, token, `${stack.name} ${stack.status}`);
      } : undefined,
    };
  }
}

/**
 * The schedule as moto takes it: moto ignores ScheduleExpression and enables rotation only for AutomaticallyAfterDays
 * of 1 or more (on AWS either enables it), so `rate(N days)` becomes N days and any other expression 1 day. The
 * interval itself plays no part in the model: rotations run when CloudFormation or the test starts them.
 */
function daysOf(rules: Record<string, unknown>): number {
  if (rules.AutomaticallyAfterDays !== undefined) return Number(rules.AutomaticallyAfterDays);
  const days = /^rate\((\d+) days?\)$/.exec(String(rules.ScheduleExpression ?? ''));
  return days ? Math.min(1000, Math.max(1, Number(days[1]))) : 1;
}
