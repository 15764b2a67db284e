import * as cdk from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** One cdk-nag finding that this library raises on purpose, with the reason it is safe. */
export interface NagAcknowledgement {
  readonly id: string;
  readonly reason: string;
  /** For rules that report per finding (e.g. AwsSolutions-IAM5), the findings this covers, as cdk-nag words them. */
  readonly appliesTo?: string[];
}

interface ValidationsApi {
  of(scope: IConstruct): { acknowledge(ack: { id: string; reason: string }): void };
}

/**
 * Acknowledges findings for users of either cdk-nag major without depending on cdk-nag:
 * cdk-nag 2 reads `cdk_nag` metadata; cdk-nag 3 reads `Validations` acknowledgements, which exist
 * only in aws-cdk-lib >= 2.257, so that call is made only where the API is there.
 */
export function acknowledgeNagFindings(scope: IConstruct, acknowledgements: NagAcknowledgement[]): void {
  const resource = scope.node.defaultChild;
  if (resource instanceof cdk.CfnResource) {
    const existing = resource.getMetadata('cdk_nag')?.rules_to_suppress ?? [];
    resource.addMetadata('cdk_nag', {
      rules_to_suppress: [
        ...existing,
        ...acknowledgements.map((a) => ({ id: a.id, reason: a.reason, ...(a.appliesTo ? { applies_to: a.appliesTo } : {}) })),
      ],
    });
  }
  const validations = (cdk as unknown as { Validations?: ValidationsApi }).Validations;
  if (validations) {
    // cdk-nag 3 reports a granular rule once per finding, as `<rule>[<finding>]`, and matches acknowledgements by that id.
    for (const a of acknowledgements) {
      for (const id of a.appliesTo?.map((finding) => `${a.id}[${finding}]`) ?? [a.id]) {
        validations.of(scope).acknowledge({ id, reason: a.reason });
      }
    }
  }
}
