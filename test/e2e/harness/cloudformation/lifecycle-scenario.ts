import { randomBytes } from 'node:crypto';
import { CreateSecretCommand, DescribeSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { CfnResource, Stack } from 'aws-cdk-lib';
import { creationOrder, dependencyGraph } from './dependencies';
import type { LifecycleEnvironment } from './lifecycle-environment';
import type { StackStatus } from './stack';
import type { OperationResult } from './stack-operations';
import type { Template } from './template';

/**
 * What the lifecycle scenarios share: secrets a test makes itself (an admin secret the stack imports, a bootstrap
 * token an operator stores), operations followed by the invariants, and the resources a failure is injected at.
 */
export class LifecycleScenario {
  private counter = 0;
  private marks = { logs: 0, decisions: 0, rotations: 0, exchanges: 0 };

  constructor(private readonly e: LifecycleEnvironment) {}

  /** Marks the start of a test: `evidence()` covers what happened since. */
  public begin(): void {
    this.marks = {
      logs: this.e.logs.lines.length,
      decisions: this.e.iamProxy.decisions.length,
      rotations: this.e.model.services.rotations.length,
      exchanges: this.e.model.services.exchanges.length,
    };
  }

  /** The function's alert lines since `begin()`. */
  public alerts(): Array<Record<string, unknown>> {
    return this.e.logs.stepLines(this.marks.logs).filter((l) => typeof l.alert === 'string');
  }

  /**
   * What happened since `begin()`, for a failing test's message: the custom resource requests and their answers, the
   * function's teardown lines (outcome per secret, alerts), failed rotations, and the calls IAM refused.
   */
  public evidence(): string[] {
    const requests = this.e.model.services.exchanges.slice(this.marks.exchanges)
      .map((x) => `${x.requestType} of ${x.logicalId} in ${x.phase}: ${x.answer ? `${x.answer.Status} (${x.answer.Reason ?? ''})` : 'no answer'}`);
    const teardown = this.e.logs.stepLines(this.marks.logs).filter((l) => l.step === 'teardown')
      .map((l) => (l.alert ? `  alert ${String(l.alert)}: ${String(l.secretArn).split(':').pop()}` : `  teardown of ${String(l.secretArn).split(':').pop()}: ${String(l.outcome)}`));
    const rotations = this.e.model.services.rotations.slice(this.marks.rotations).filter((r) => !r.completed)
      .map((r) => `rotation of ${r.secretArn.split(':').pop()} (${r.during}) failed: ${r.errors.slice(-1)[0] ?? ''}`);
    const denials = this.e.iamProxy.decisions.slice(this.marks.decisions).filter((d) => d.decision !== 'allowed')
      .map((d) => `IAM refused ${d.action} on ${d.resource.split(':').pop()} to ${d.principalArn.split('/')[1]}`);
    return [...requests, ...teardown, ...rotations, ...denials];
  }

  /** The violations since the last call, with the evidence when there are any (empty when all held). */
  public violationsWithEvidence(): string[] {
    const violations = this.e.invariants.takeViolations();
    return violations.length ? [...violations, '--- what the function did:', ...this.evidence()] : [];
  }

  public uniqueName(label: string): string {
    this.counter += 1;
    return `lifecycle-${label}-${this.counter}-${randomBytes(3).toString('hex')}`;
  }

  /** A secret holding a seeded Organization Administrator token, made by hand as the README says; the stack imports it. */
  public async adminSecret(label = 'admin'): Promise<{ arn: string; clientId: string }> {
    const roleId = this.e.astra.roles.orgAdmin.id;
    const t = await this.e.astra.seedToken(roleId, `admin token for ${label} (seeded by the lifecycle test)`);
    const created = await this.e.sm.send(new CreateSecretCommand({
      Name: this.uniqueName(label),
      SecretString: JSON.stringify({ astraKey: t.token, clientID: t.clientId, clientSecret: t.secret, roleID: roleId }),
    }));
    this.e.model.services.ledger.register(created.ARN!, [t.clientId]);
    return { arn: created.ARN!, clientId: t.clientId };
  }

  /** The bootstrap token of a self-rotating secret, stored as AWSCURRENT as the README tells the operator to. */
  public async bootstrap(secretId: string, roleId: string): Promise<string> {
    const arn = await this.arnOf(secretId);
    const t = await this.e.astra.seedToken(roleId, `bootstrap token of ${arn}`);
    await this.e.sm.send(new PutSecretValueCommand({
      SecretId: arn,
      SecretString: JSON.stringify({ astraKey: t.token, clientID: t.clientId, clientSecret: t.secret, roleID: roleId, engine: 'AstraDB' }),
      VersionStages: ['AWSCURRENT'],
    }));
    this.e.model.services.ledger.register(arn, [t.clientId]);
    return t.clientId;
  }

  public async arnOf(secretId: string): Promise<string> {
    return (await this.e.sm.send(new DescribeSecretCommand({ SecretId: secretId }))).ARN!;
  }

  /** An operation, then the invariants; fails with the stack's events when the status is not the expected one. */
  public async step(label: string, expected: StackStatus, operation: () => Promise<OperationResult>): Promise<OperationResult> {
    const result = await operation();
    await this.e.invariants.check(label);
    if (result.status !== expected) {
      throw new Error(`${label}: ${result.status}, expected ${expected}; failures: ${result.failures.join(' | ')}\n${result.stack.eventLines().join('\n')}`);
    }
    return result;
  }

  /** Runs `operation` with IAM changes held back (see IamState); the delay is reset afterwards. */
  public async withIamDelay<T>(delay: number, operation: () => Promise<T>): Promise<T> {
    const options = this.e.model.options;
    const before = options.iamPropagationDelay;
    options.iamPropagationDelay = delay;
    try {
      return await operation();
    } finally {
      options.iamPropagationDelay = before;
    }
  }

  /** Secrets of this stack, by logical id of the AstraTokenSecret's secret resource. */
  public physicalIdOf(stackName: string, logicalIdPrefix: string): string {
    const stack = this.e.model.stack(stackName);
    const r = [...stack.resources.values()].find((x) => x.logicalId.startsWith(logicalIdPrefix));
    if (!r) throw new Error(`no resource ${logicalIdPrefix}* in ${stackName}`);
    return r.physicalId;
  }
}

/** The stack's token teardown custom resources (one per rotation function). */
export function teardownResources(stack: Stack): CfnResource[] {
  return stack.node.findAll().filter((c): c is CfnResource => c instanceof CfnResource && c.cfnResourceType === 'Custom::AstraTokenTeardown');
}

/**
 * A no-op resource that CloudFormation reaches after every teardown: a failure injected there lands after the
 * teardowns did their work, and rolls the operation back.
 */
export function resourceAfterTeardowns(stack: Stack, id = 'AfterTeardown'): CfnResource {
  const r = new CfnResource(stack, id, { type: 'AWS::SSM::Parameter', properties: { Type: 'String', Value: 'after the teardown' } });
  r.overrideLogicalId(id);
  for (const t of teardownResources(stack)) r.addDependency(t);
  return r;
}

/** Where a resource comes in the create order the model will follow (0-based). */
export function createPosition(template: Template, logicalIdPrefix: string, tieBreak: 'template' | 'reverse-template' = 'template'): number {
  const order = creationOrder(dependencyGraph(template), tieBreak);
  const index = order.findIndex((id) => id.startsWith(logicalIdPrefix));
  if (index < 0) throw new Error(`no ${logicalIdPrefix}* in the template`);
  return index;
}
