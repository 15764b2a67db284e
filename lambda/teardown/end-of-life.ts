import { DELETION_POLICY_TAG, UPDATE_REPLACE_POLICY_TAG } from '../../src/shared/secret-tags';
import type { StackState } from '../clients/cloudformation';

/**
 * When CloudFormation has committed to deleting resources: the only phases in which the teardown revokes. Any other
 * phase can still roll back, and a secret that exists after an operation must hold a live token.
 */
export type CommittedPhase = 'stack-deletion' | 'create-rollback' | 'update-cleanup' | 'rollback-cleanup';

export const TEARDOWN_TYPE = 'Custom::AstraTokenTeardown';

const PHASES: Readonly<Record<string, CommittedPhase>> = {
  DELETE_IN_PROGRESS: 'stack-deletion',
  ROLLBACK_IN_PROGRESS: 'create-rollback',
  UPDATE_COMPLETE_CLEANUP_IN_PROGRESS: 'update-cleanup',
  UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS: 'rollback-cleanup',
};

/** The facts of a custom resource Delete that CloudFormation's own state must confirm. */
export interface DeleteRequest {
  readonly StackId: string;
  readonly LogicalResourceId: string;
  readonly PhysicalResourceId?: string;
}

/**
 * Whether the stack's state confirms that CloudFormation is deleting this physical teardown resource: the stack is in
 * a committed phase, and the resource is the stack's current one (stack deletion, create rollback) or a former one
 * (the old id of a replacement, deleted in an update's cleanup; the new id, deleted in a rollback's cleanup). An
 * invocation that names any other state is evidence of nothing.
 */
export function confirmDeletion(request: DeleteRequest, state: StackState, deployedStackId: string | undefined):
{ readonly phase: CommittedPhase } | { readonly refused: string } {
  if (deployedStackId && request.StackId !== deployedStackId) {
    return { refused: `the request names the stack ${request.StackId}, not the function's own stack ${deployedStackId}` };
  }
  if (state.stackId !== request.StackId) return { refused: `CloudFormation describes ${state.stackId}, not ${request.StackId}` };
  const phase = PHASES[state.status];
  if (!phase) return { refused: `the stack is ${state.status}, a phase in which CloudFormation deletes nothing for good` };
  const declared = state.template.Resources?.[request.LogicalResourceId];
  if (declared && declared.Type !== TEARDOWN_TYPE) {
    return { refused: `the stack's ${request.LogicalResourceId} is a ${declared.Type}, not a ${TEARDOWN_TYPE}` };
  }
  const current = state.resources.find((r) => r.logicalId === request.LogicalResourceId);
  const isCurrent = current?.physicalId !== undefined && current.physicalId === request.PhysicalResourceId;
  if ((phase === 'stack-deletion' || phase === 'create-rollback') && !isCurrent) {
    return { refused: `the stack is ${state.status} but ${request.LogicalResourceId} is ${current?.physicalId ?? 'not in it'}, not ${request.PhysicalResourceId}` };
  }
  if (phase === 'update-cleanup' || phase === 'rollback-cleanup') {
    if (declared && isCurrent) {
      return { refused: `the stack is ${state.status} but ${request.PhysicalResourceId} is the current ${request.LogicalResourceId}, which stays` };
    }
    // A teardown the template no longer declares is one this operation removes: CloudFormation lists it until it is gone.
    if (!declared && !(isCurrent && current?.type === TEARDOWN_TYPE)) {
      return { refused: `the stack's template does not declare ${request.LogicalResourceId}, nor does CloudFormation list it as the ${TEARDOWN_TYPE} ${request.PhysicalResourceId}` };
    }
  }
  return { phase };
}

/** A secret as DescribeSecret shows it: CloudFormation's own tags (users cannot write aws: tags) and the construct's. */
export interface SecretFacts {
  readonly arn: string;
  readonly tags: ReadonlyArray<{ Key?: string; Value?: string }> | undefined;
  /** When Secrets Manager created it (DescribeSecret's CreatedDate). */
  readonly createdDate?: Date;
  /** When the secret now holding its logical id was created: a replacement of this operation is younger than it. */
  readonly successorCreatedDate?: Date;
}

/**
 * Whether a date falls in the operation in progress, by CloudFormation's clock (DeletionTime, LastUpdatedTime). Two
 * services' clocks are compared, and Secrets Manager's CreatedDate may be cut to the second: a second's slack.
 */
const CLOCK_SLACK_MS = 1_000;
function inThisOperation(date: Date | undefined, state: StackState): boolean {
  return !!date && !!state.operationStartedAt && date.getTime() >= state.operationStartedAt.getTime() - CLOCK_SLACK_MS;
}

const DESTROYING = new Set(['Delete']);

/**
 * Whether CloudFormation deletes this secret in the confirmed phase, decided from what CloudFormation will do: the
 * stack's current template (DeletionPolicy on a stack deletion or create rollback, UpdateReplacePolicy for a replaced
 * one), and for a secret no longer in the template, the DeletionPolicy its last deploy tagged it with. Never from the
 * request's properties.
 */
export function secretFate(
  phase: CommittedPhase, secret: SecretFacts, state: StackState,
): { readonly going: boolean; readonly why: string; readonly unknown?: true } {
  const tag = (key: string) => secret.tags?.find((t) => t.Key === key)?.Value;
  const stackTag = tag('aws:cloudformation:stack-id');
  if (stackTag !== undefined && stackTag !== state.stackId) {
    return { going: false, why: 'CloudFormation\'s tags name another stack as its owner' };
  }
  // CloudFormation documents that its aws: tags reach resources "varying by resource type": without them, the stack's
  // resource list says which resource the secret is, as long as it is a current one.
  const logicalId = stackTag ? tag('aws:cloudformation:logical-id') : state.resources.find((r) => r.physicalId === secret.arn)?.logicalId;
  if (!logicalId) {
    return stackTag
      ? { going: false, why: 'CloudFormation\'s tags do not name its logical id' }
      : { going: false, unknown: true, why: 'it has no aws:cloudformation tags and is not a current resource of the stack, so CloudFormation\'s intent cannot be read' };
  }
  const inTemplate = state.template.Resources?.[logicalId];
  const current = state.resources.find((r) => r.logicalId === logicalId);
  const sameSecret = current?.physicalId === secret.arn;

  if (phase === 'stack-deletion' || phase === 'create-rollback') {
    if (!inTemplate || !sameSecret) return { going: false, why: `the stack's ${logicalId} is not this secret` };
    const policy = inTemplate.DeletionPolicy ?? 'Delete';
    const going = DESTROYING.has(policy) || (phase === 'create-rollback' && policy === 'RetainExceptOnCreate');
    return { going, why: `${phase}, DeletionPolicy ${policy}` };
  }
  if (inTemplate && sameSecret) return { going: false, why: `it is still the stack's ${logicalId}` };
  // A cleanup deletes only what this operation removed, replaced or created: a secret CloudFormation let go of earlier
  // (retained) is no longer its business, whatever a request says.
  if (inTemplate) {
    if (phase === 'update-cleanup') {
      if (!secret.successorCreatedDate || !state.operationStartedAt) {
        return { going: false, unknown: true, why: `replaced, but when the stack's ${logicalId} was created, or the operation began, cannot be read` };
      }
      if (!inThisOperation(secret.successorCreatedDate, state)) {
        return { going: false, why: `not replaced by this operation: the stack's ${logicalId} is a secret older than it` };
      }
      const policy = inTemplate.UpdateReplacePolicy ?? 'Delete';
      // A secret an earlier replacement kept carries that Retain itself; a request can name it while its logical id is
      // replaced again. Revoked only when its own tag and the template agree (no tag: deployed before the tag existed).
      const ownPolicy = tag(UPDATE_REPLACE_POLICY_TAG);
      if (DESTROYING.has(policy) && ownPolicy !== undefined && !DESTROYING.has(ownPolicy)) {
        return { going: false, unknown: true, why: `replaced, but its last deploy kept it on replacement (UpdateReplacePolicy ${ownPolicy}) and the template now says ${policy}` };
      }
      return { going: DESTROYING.has(policy), why: `replaced, UpdateReplacePolicy ${policy}` };
    }
    // The failed update's replacement: CloudFormation deletes the new physical resource and keeps the old one.
    if (!secret.createdDate || !state.operationStartedAt) {
      return { going: false, unknown: true, why: 'a replacement the rollback may remove, but its creation or the operation\'s start cannot be read' };
    }
    if (!inThisOperation(secret.createdDate, state)) {
      return { going: false, why: 'not created by the failed update: it is older than the operation' };
    }
    const policy = tag(DELETION_POLICY_TAG);
    return { going: policy !== 'Retain' && policy !== 'Snapshot', why: `a replacement the rollback removes, DeletionPolicy ${policy ?? 'unknown'}` };
  }
  // Removed by this update, or added by the failed one: CloudFormation still lists it until it deletes it.
  if (!sameSecret) {
    // CloudFormation lists a resource it is about to delete; one it does not list it let go of earlier (retained), or
    // a request named it that CloudFormation never sent: either way not revoked, and said.
    return { going: false, unknown: true, why: 'not a resource CloudFormation lists for the stack any more, so not one this operation deletes' };
  }
  const policy = tag(DELETION_POLICY_TAG);
  if (!policy) {
    return { going: false, unknown: true, why: `removed from the template, and it carries no ${DELETION_POLICY_TAG} tag to tell whether CloudFormation deletes it` };
  }
  const going = DESTROYING.has(policy) || (phase === 'rollback-cleanup' && policy === 'RetainExceptOnCreate');
  return { going, why: `${phase === 'update-cleanup' ? 'removed' : 'created by the failed update'}, DeletionPolicy ${policy}` };
}
