import { CustomResourceProvider } from './custom-resource-provider';
import { PolicyProvider, RoleProvider } from './iam-provider';
import { LambdaFunctionProvider } from './lambda-function-provider';
import type { ModelServices } from './model-services';
import { NoopProvider } from './noop-provider';
import type { ResourceProvider } from './provider';
import type { RotationRunner } from './rotation-runner';
import { RotationScheduleProvider } from './rotation-schedule-provider';
import { SecretProvider } from './secret-provider';
import { isCustomResourceType } from './template';

/** The types the model acts on; every other type is a no-op resource with a deterministic physical id. */
export class ProviderTable {
  private readonly byType: Record<string, ResourceProvider>;
  private readonly custom: ResourceProvider;
  private readonly noop: ResourceProvider;

  constructor(services: ModelServices, rotations: RotationRunner) {
    this.byType = {
      'AWS::SecretsManager::Secret': new SecretProvider(services),
      'AWS::SecretsManager::RotationSchedule': new RotationScheduleProvider(services, rotations),
      'AWS::IAM::Role': new RoleProvider(services),
      'AWS::IAM::Policy': new PolicyProvider(services, false),
      'AWS::IAM::ManagedPolicy': new PolicyProvider(services, true),
      'AWS::Lambda::Function': new LambdaFunctionProvider(services),
    };
    this.custom = new CustomResourceProvider(services);
    this.noop = new NoopProvider(services);
  }

  public providerFor(type: string): ResourceProvider {
    return this.byType[type] ?? (isCustomResourceType(type) ? this.custom : this.noop);
  }
}
