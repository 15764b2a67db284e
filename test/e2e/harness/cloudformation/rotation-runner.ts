import { randomUUID } from 'node:crypto';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { ModelServices, RotationRecord } from './model-services';
import { HandlerEnvironment, RotationDriver, RotationTarget } from '../rotation-driver';

/**
 * Rotations as Secrets Manager runs them for the model: RotateSecret's synchronous part (stage an empty AWSPENDING
 * version, record the rotation function, which moto does before it fails to find the Lambda function, see
 * TOOLING.md) and then, separately, the four steps through the function RotationLambdaARN names, with that
 * function's environment. Every rotation is recorded; a failed one is abandoned as the README tells operators to.
 */
export class RotationRunner {
  constructor(private readonly services: ModelServices) {}

  /** RotateSecret: fails (as the API call would) while another rotation of the secret is in progress. */
  public async start(secretArn: string, target: RotationTarget & { rotateImmediately: boolean }): Promise<string> {
    const token = randomUUID();
    await this.driver(target.rotationLambdaArn ?? '').stagePendingVersion(secretArn, token, target);
    // RotateImmediately=false: Secrets Manager checks the configuration and leaves no AWSPENDING behind.
    if (!target.rotateImmediately) await this.driver('').abandon(secretArn, token);
    return token;
  }

  /** The four steps of a started rotation, through the function the secret names. */
  public async run(secretArn: string, functionArn: string, token: string, during: string): Promise<RotationRecord> {
    const fn = this.services.fleet.definition(functionArn);
    let record: RotationRecord;
    if (!fn) {
      await this.driver(functionArn).abandon(secretArn, token);
      record = { secretArn, functionArn, token, during, completed: false, errors: [`the rotation function ${functionArn} does not exist`] };
    } else {
      const maxAttempts = this.services.options.rotationMaxAttempts;
      const result = await this.driver(functionArn).rotate(secretArn, { token, staged: true, maxAttempts });
      record = { secretArn, functionArn, token, during, completed: result.completed, errors: result.errors.map((e) => e.message) };
    }
    this.services.rotations.push(record);
    return record;
  }

  /** A rotation on the secret's schedule (not CloudFormation's): through the function the secret names now. */
  public async rotateNow(secretArn: string, during: string): Promise<RotationRecord> {
    const d = await this.services.sm.send(new DescribeSecretCommand({ SecretId: secretArn }));
    if (!d.RotationLambdaARN) throw new Error(`${secretArn} has no rotation function`);
    const token = await this.start(d.ARN!, { rotationLambdaArn: d.RotationLambdaARN, rotationRules: d.RotationRules as RotationTarget['rotationRules'], rotateImmediately: true });
    return this.run(d.ARN!, d.RotationLambdaARN, token, during);
  }

  private driver(functionArn: string): RotationDriver {
    const fn = this.services.fleet.definition(functionArn);
    return new RotationDriver(this.services.sm, async (event) => {
      if (!fn) throw new Error(`the rotation function ${functionArn} does not exist`);
      await this.services.fleet.invoke(fn, event);
    }, () => (fn ? this.services.fleet.environmentOf(fn) : {}) as HandlerEnvironment);
  }
}
