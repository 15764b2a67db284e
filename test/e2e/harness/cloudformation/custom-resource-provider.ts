import { randomUUID } from 'node:crypto';
import type { CustomResourceExchange, ModelServices } from './model-services';
import { ProviderResult, ResourceFailure, ResourceProvider, ResourceRequest } from './provider';
import { generatedName } from './resource-names';

/** The largest answer CloudFormation takes. */
const MAX_ANSWER_BYTES = 4096;

/**
 * Every property value as CloudFormation hands it to a custom resource: scalars (booleans and numbers included) become
 * strings; lists and maps keep their shape.
 */
export function stringifyProperties(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stringifyProperties);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => [k, stringifyProperties(v)]));
  }
  return String(value);
}

/**
 * Custom resources (`Custom::*`, AWS::CloudFormation::CustomResource): CloudFormation's request to the function its
 * ServiceToken names, and the wait for the answer PUT to the request's ResponseURL. The invocation is asynchronous as
 * on AWS: Lambda retries an invocation that threw or timed out (twice by default) unless an answer came. No answer
 * within the configured time fails the resource and is recorded as a violation ("CloudFormation never got its
 * answer"); a FAILED answer fails it with the handler's reason and physical id. What the answer's PhysicalResourceId
 * means (same id: in place; another id: replacement) is the engine's business.
 */
export class CustomResourceProvider implements ResourceProvider {
  constructor(private readonly services: ModelServices) {}

  public async create(request: ResourceRequest): Promise<ProviderResult> {
    return this.send('Create', request);
  }

  public async update(request: ResourceRequest): Promise<ProviderResult> {
    if (request.oldProperties && request.oldProperties.ServiceToken !== request.properties.ServiceToken) {
      throw new ResourceFailure('Modifying service token is not allowed.', undefined, true);
    }
    return this.send('Update', request);
  }

  public async delete(request: ResourceRequest): Promise<void> {
    await this.send('Delete', request);
  }

  private async send(requestType: CustomResourceExchange['requestType'], request: ResourceRequest): Promise<ProviderResult> {
    const { stack, logicalId } = request;
    const serviceToken = String(request.properties.ServiceToken ?? '');
    const requestId = randomUUID();
    const exchange: CustomResourceExchange = {
      stackName: stack.name,
      logicalId,
      requestType,
      requestId,
      phase: stack.status,
      physicalId: request.physicalId,
      resourceProperties: stringifyProperties(request.properties) as Record<string, unknown>,
      oldResourceProperties: request.oldProperties ? stringifyProperties(request.oldProperties) as Record<string, unknown> : undefined,
      invocations: 0,
      invocationErrors: [],
    };
    this.services.exchanges.push(exchange);
    // If the function never answers a Create, CloudFormation makes up an id and sends the rollback's Delete with it.
    const fallbackId = request.physicalId ?? generatedName(stack.name, logicalId, requestId);
    const fn = this.services.fleet.definition(serviceToken);
    if (!fn) throw new ResourceFailure(`the ServiceToken ${serviceToken} names no function of the model's stacks`, fallbackId);

    const event = {
      RequestType: requestType,
      ServiceToken: serviceToken,
      ResponseURL: this.services.recorder.url(requestId),
      StackId: stack.id,
      RequestId: requestId,
      LogicalResourceId: logicalId,
      ResourceType: request.type,
      ResourceProperties: exchange.resourceProperties,
      ...(requestType !== 'Create' ? { PhysicalResourceId: request.physicalId } : {}),
      ...(requestType === 'Update' ? { OldResourceProperties: exchange.oldResourceProperties } : {}),
    };
    for (let attempt = 0; attempt <= this.services.options.lambdaAsyncRetries; attempt++) {
      exchange.invocations += 1;
      try {
        await this.services.fleet.invoke(fn, event);
        break;
      } catch (e) {
        exchange.invocationErrors.push(`${(e as Error).name}: ${(e as Error).message}`);
        if (this.services.recorder.answerTo(requestId)) break;
      }
    }
    const answer = await this.services.recorder.waitFor(requestId, this.services.options.answerTimeoutMs);
    const where = `${stack.name} ${stack.status}: ${requestType} of ${logicalId}`;
    if (!answer) {
      this.services.violations.push(`${where}: CloudFormation never got its answer (${exchange.invocations} invocations${exchange.invocationErrors.length ? `; ${exchange.invocationErrors.join('; ')}` : ''})`);
      throw new ResourceFailure('CloudFormation did not receive a response from your Custom Resource', fallbackId);
    }
    const body = answer.body ?? {};
    exchange.answer = { Status: body.Status, PhysicalResourceId: body.PhysicalResourceId, Reason: body.Reason, Data: body.Data };
    const problems = [
      answer.method !== 'PUT' && `sent with ${answer.method}, not PUT`,
      answer.bytes > MAX_ANSWER_BYTES && `${answer.bytes} bytes, more than ${MAX_ANSWER_BYTES}`,
      !answer.body && 'not JSON',
      body.Status !== 'SUCCESS' && body.Status !== 'FAILED' && `Status ${JSON.stringify(body.Status)}`,
      !body.PhysicalResourceId && 'no PhysicalResourceId',
      body.RequestId !== requestId && 'another RequestId',
      body.StackId !== stack.id && 'another StackId',
      body.LogicalResourceId !== logicalId && 'another LogicalResourceId',
    ].filter((p): p is string => typeof p === 'string');
    if (problems.length) {
      this.services.violations.push(`${where}: CloudFormation could not use the answer (${problems.join(', ')})`);
      throw new ResourceFailure(`Invalid response from the custom resource: ${problems.join(', ')}`, fallbackId);
    }
    if (body.Status === 'FAILED') throw new ResourceFailure(String(body.Reason ?? 'the custom resource answered FAILED'), String(body.PhysicalResourceId));
    return { physicalId: String(body.PhysicalResourceId), attributes: (body.Data ?? {}) as Record<string, unknown> };
  }
}
