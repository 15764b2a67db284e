import type { ModelServices } from './model-services';
import type { ProviderResult, ResourceProvider, ResourceRequest } from './provider';
import { generatedName, lambdaFunctionArn } from './resource-names';

/**
 * AWS::Lambda::Function: nothing to deploy (every function is the shipped bundle), but the stack's record of it is
 * what the model runs: its resolved Environment.Variables, Role and Timeout at the moment it is invoked (see
 * function-fleet.ts). A new FunctionName replaces it. Ref is the name; Arn is an attribute.
 */
export class LambdaFunctionProvider implements ResourceProvider {
  constructor(private readonly services: ModelServices) {}

  public replaces(oldProperties: Record<string, unknown>, newProperties: Record<string, unknown>): boolean {
    return oldProperties.FunctionName !== newProperties.FunctionName;
  }

  public async create(request: ResourceRequest): Promise<ProviderResult> {
    const name = typeof request.properties.FunctionName === 'string'
      ? request.properties.FunctionName
      : generatedName(request.stack.name, request.logicalId, `${request.stack.id}|${request.stack.operation}`);
    return { physicalId: name, attributes: { Arn: lambdaFunctionArn(this.services.env, name) } };
  }

  public async update(request: ResourceRequest): Promise<ProviderResult> {
    return { physicalId: request.physicalId!, attributes: { Arn: lambdaFunctionArn(this.services.env, request.physicalId!) } };
  }

  public async delete(): Promise<void> {}
}
