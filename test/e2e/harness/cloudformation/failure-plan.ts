/**
 * Failures a test injects into the next operation: a resource that fails when CloudFormation reaches it (by logical
 * id, optionally only for one action), or whatever resource comes after the N-th one the operation's first phase
 * handled. An injected failure fails the resource before its provider runs, as a service error would. Each fires once;
 * the plan is emptied when the operation ends.
 */
export type ResourceAction = 'create' | 'update' | 'delete';

/**
 * `before` (the default): the resource fails as CloudFormation reaches it, its provider never runs (no request goes to
 * a custom resource's function). `after`: the provider runs (the function handles its request and answers), then
 * CloudFormation counts the resource failed anyway, as after a timeout it hit while the work was being done.
 */
export type FailureTiming = 'before' | 'after';

export type InjectedFailure =
  | { readonly logicalId: string; readonly action?: ResourceAction; readonly reason?: string; readonly when?: FailureTiming }
  | { readonly afterResources: number; readonly reason?: string; readonly when?: FailureTiming };

export interface FiredFailure {
  readonly logicalId: string;
  readonly action: ResourceAction;
  readonly reason: string;
  readonly when: FailureTiming;
}

export class FailurePlan {
  private armed: InjectedFailure[] = [];
  /** Resource actions performed in the current operation's first phase (create, update or delete). */
  private handled = 0;
  public readonly fired: FiredFailure[] = [];

  public arm(failure: InjectedFailure): void {
    this.armed.push(failure);
  }

  /** At the start of an operation. */
  public startOperation(): void {
    this.handled = 0;
  }

  /** At the end of one: failures that did not fire are dropped, so they never spill into the next operation. */
  public endOperation(): void {
    this.armed = [];
  }

  /** The failure when the resource must fail here; `counted` when the action belongs to the operation's first phase. */
  public take(logicalId: string, action: ResourceAction, counted: boolean): FiredFailure | undefined {
    const index = this.armed.findIndex((f) => 'logicalId' in f
      ? f.logicalId === logicalId && (f.action === undefined || f.action === action)
      : counted && this.handled >= f.afterResources);
    if (counted) this.handled += 1;
    if (index < 0) return undefined;
    const [failure] = this.armed.splice(index, 1);
    const reason = failure.reason ?? `injected failure (${'logicalId' in failure ? `at ${logicalId}` : `after ${failure.afterResources} resources`})`;
    const fired: FiredFailure = { logicalId, action, reason, when: failure.when ?? 'before' };
    this.fired.push(fired);
    return fired;
  }
}
