import { creationOrder, dependencyGraph } from './dependencies';
import type { FailurePlan, ResourceAction } from './failure-plan';
import type { ModelServices } from './model-services';
import { ProviderResult, ResourceFailure, ResourceRequest } from './provider';
import type { ProviderTable } from './providers';
import type { Stack, StackEvent, StackResource, StackStatus } from './stack';
import { copyTemplate, keepsOnRemoval, Template } from './template';
import { ResolvedTemplate, resolveTemplate, stableJson } from './template-resolution';

export interface OperationResult {
  readonly stack: Stack;
  readonly status: StackStatus;
  /** Resource failures, in order: `<logical id> (<action>): <reason>`, rollbacks' and cleanups' included. */
  readonly failures: string[];
  /** The stack's events during the operation. */
  readonly events: StackEvent[];
}

/** What the first phase of an update did to a logical id, for the cleanup or the rollback. */
interface Change {
  readonly logicalId: string;
  readonly kind: 'created' | 'updated' | 'replaced';
  /** The record before the update (updated, replaced). */
  readonly before?: StackResource;
  /** The properties the update sent (updated). */
  readonly newProperties?: Record<string, unknown>;
  /** The new physical resource (replaced), if it was made. */
  readonly after?: StackResource;
}

interface Outcome {
  readonly result?: ProviderResult;
  readonly failure?: string;
  /** A failed provider may still name a physical id (a custom resource's FAILED answer, or one CloudFormation made up). */
  readonly failedPhysicalId?: string;
  /** Whether the provider ran (an injected `before` failure stops it). */
  readonly ran: boolean;
}

const GONE = new Set(['DELETE_COMPLETE', 'DELETE_SKIPPED']);

/**
 * CloudFormation's operations on a stack, phase by phase (see CLOUDFORMATION.md, "Operations and phases"):
 * - create: CREATE_IN_PROGRESS in dependency order; on a failure ROLLBACK_IN_PROGRESS deletes what was created (a
 *   failed custom resource with a physical id included) in reverse order, DeletionPolicy Retain/Snapshot keeping,
 *   RetainExceptOnCreate deleting, then ROLLBACK_COMPLETE (ROLLBACK_FAILED if a delete failed).
 * - update: UPDATE_IN_PROGRESS creates new and updates changed resources (changed = resolved properties differ) in
 *   the new template's order, a replacement creating the new physical resource; then
 *   UPDATE_COMPLETE_CLEANUP_IN_PROGRESS deletes removed resources and replaced physical resources in reverse order
 *   (DeletionPolicy, UpdateReplacePolicy), its failures not failing the update; UPDATE_COMPLETE.
 *   On a failure: UPDATE_ROLLBACK_IN_PROGRESS updates back what was updated in place (old and new properties
 *   swapped) and reinstates replaced resources' old physical ids with no request; then
 *   UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS deletes what the update created, new physical ids of replacements
 *   included; UPDATE_ROLLBACK_COMPLETE.
 * - delete: DELETE_IN_PROGRESS in reverse order, Retain giving DELETE_SKIPPED; a failure gives DELETE_FAILED, keeps
 *   what the failed resource depends on, and what was deleted stays deleted; a retry deletes what is left.
 * One resource at a time, in an order consistent with the dependencies (see dependencies.ts).
 */
export class StackOperations {
  /** Resource actions so far (all operations): "after the next resource" counts them. */
  private actions = 0;
  private pending: Array<{ due: number; run: () => Promise<void> }> = [];

  constructor(private readonly services: ModelServices, private readonly providers: ProviderTable, private readonly failures: FailurePlan) {}

  public async create(stack: Stack, template: Template): Promise<OperationResult> {
    const from = stack.events.length;
    const failures: string[] = [];
    this.begin(stack, template);
    stack.setStatus('CREATE_IN_PROGRESS', 'User Initiated');
    const plan = this.resolve(stack);
    const created: string[] = [];
    let failed: string | undefined;
    for (const id of plan.order) {
      const outcome = await this.createResource(stack, plan, id, true);
      if (stack.resources.get(id)?.physicalId) created.push(id);
      if (outcome.failure) {
        failures.push(`${id} (create): ${outcome.failure}`);
        failed = id;
        break;
      }
    }
    await this.runPending('phase-end');
    if (!failed) return this.finish(stack, 'CREATE_COMPLETE', from, failures);

    stack.setStatus('ROLLBACK_IN_PROGRESS', `The following resource(s) failed to create: [${failed}]. Rollback requested by user.`);
    const ok = await this.deleteInOrder(stack, [...created].reverse(), plan.graph, true, false, failures);
    await this.runPending('phase-end');
    this.dropGone(stack, [...stack.resources.keys()]);
    return this.finish(stack, ok ? 'ROLLBACK_COMPLETE' : 'ROLLBACK_FAILED', from, failures);
  }

  public async update(stack: Stack, template: Template): Promise<OperationResult> {
    if (!['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE'].includes(stack.status)) {
      throw new Error(`Stack:${stack.id} is in ${stack.status} state and can not be updated.`);
    }
    const from = stack.events.length;
    const failures: string[] = [];
    const oldTemplate = stack.template;
    const oldGraph = dependencyGraph(oldTemplate, new Set(stack.resources.keys()));
    this.begin(stack, template);
    stack.setStatus('UPDATE_IN_PROGRESS', 'User Initiated');
    const plan = this.resolve(stack);
    const changes: Change[] = [];
    let failed: string | undefined;
    for (const id of plan.order) {
      const failure = await this.updateOne(stack, plan, id, changes);
      if (failure) {
        failures.push(failure);
        failed = id;
        break;
      }
    }
    await this.runPending('phase-end');

    if (!failed) {
      stack.setStatus('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
      const removed = [...stack.resources.keys()].filter((id) => !plan.active.has(id));
      for (const id of creationOrder(oldGraph, this.services.options.tieBreak).reverse()) {
        const replaced = changes.find((c) => c.logicalId === id && c.kind === 'replaced');
        if (replaced?.before) {
          const keep = keepsOnRemoval(template.Resources[id]?.UpdateReplacePolicy, false);
          await this.deletePhysical(stack, replaced.before, keep, failures);
        } else if (removed.includes(id)) {
          const record = stack.resources.get(id)!;
          await this.deletePhysical(stack, record, keepsOnRemoval(record.deletionPolicy, false), failures, record);
        }
      }
      await this.runPending('phase-end');
      // Removed resources leave the stack whether or not their deletion worked: a failed cleanup orphans them.
      for (const id of removed) stack.resources.delete(id);
      return this.finish(stack, 'UPDATE_COMPLETE', from, failures);
    }

    stack.setStatus('UPDATE_ROLLBACK_IN_PROGRESS', `The following resource(s) failed to update: [${failed}].`);
    stack.template = oldTemplate;
    for (const id of creationOrder(oldGraph, this.services.options.tieBreak)) {
      const change = changes.find((c) => c.logicalId === id);
      if (change?.kind === 'replaced' && change.before) {
        // The old physical resource was never touched: it is the stack's again, and its handler hears nothing.
        const restored = { ...change.before };
        stack.resources.set(id, restored);
        stack.setResourceStatus(restored, 'UPDATE_COMPLETE');
      } else if (change?.kind === 'updated' && change.before) {
        const failure = await this.revert(stack, change);
        if (failure) {
          failures.push(failure);
          return this.finish(stack, 'UPDATE_ROLLBACK_FAILED', from, failures);
        }
      }
    }
    await this.runPending('phase-end');

    stack.setStatus('UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS');
    for (const id of [...plan.order].reverse()) {
      const change = changes.find((c) => c.logicalId === id);
      if (change?.kind === 'created') {
        const record = stack.resources.get(id)!;
        await this.deletePhysical(stack, record, keepsOnRemoval(record.deletionPolicy, true), failures, record);
      } else if (change?.kind === 'replaced' && change.after?.physicalId) {
        await this.deletePhysical(stack, change.after, keepsOnRemoval(change.after.deletionPolicy, true), failures);
      }
    }
    await this.runPending('phase-end');
    // What the failed update added (deleted now, or never made) leaves ListStackResources as the operation ends.
    for (const id of [...stack.resources.keys()]) if (!oldGraph.has(id)) stack.resources.delete(id);
    return this.finish(stack, 'UPDATE_ROLLBACK_COMPLETE', from, failures);
  }

  public async delete(stack: Stack): Promise<OperationResult> {
    if (stack.status.endsWith('_IN_PROGRESS')) throw new Error(`Stack ${stack.name} is in ${stack.status} state`);
    const from = stack.events.length;
    const failures: string[] = [];
    this.begin(stack, stack.template);
    stack.setStatus('DELETE_IN_PROGRESS', 'User Initiated');
    const left = new Set([...stack.resources.entries()].filter(([, r]) => !GONE.has(r.status)).map(([id]) => id));
    const graph = dependencyGraph(stack.template, left);
    const order = creationOrder(graph, this.services.options.tieBreak).reverse();
    const ok = await this.deleteInOrder(stack, order, graph, false, true, failures);
    await this.runPending('phase-end');
    if (!ok) {
      this.dropGone(stack, order);
      return this.finish(stack, 'DELETE_FAILED', from, failures);
    }
    return this.finish(stack, 'DELETE_COMPLETE', from, failures);
  }

  /**
   * Runs the rotations whose moment has come: `due` after a resource, `phase-end` also those still waiting for a
   * next resource that the phase does not have, `all` also the `manual` ones (the test's call).
   */
  public async runPending(scope: 'due' | 'phase-end' | 'all' = 'due'): Promise<void> {
    const ready = (p: { due: number }) => scope === 'all' || (scope === 'phase-end' ? Number.isFinite(p.due) : p.due <= this.actions);
    const due = this.pending.filter(ready);
    this.pending = this.pending.filter((p) => !due.includes(p));
    for (const p of due) await p.run();
  }

  private begin(stack: Stack, template: Template): void {
    stack.operation += 1;
    stack.template = copyTemplate(template);
    this.failures.startOperation();
  }

  private finish(stack: Stack, status: StackStatus, from: number, failures: string[]): OperationResult {
    this.services.iam.flush();
    stack.setStatus(status, failures[0]);
    this.failures.endOperation();
    return { stack, status, failures, events: stack.events.slice(from) };
  }

  /** The operation's template (begin() made the stack's), read against the stack. */
  private resolve(stack: Stack): ResolvedTemplate {
    return resolveTemplate(stack, stack.template, this.providers, this.services.options.parameters, this.services.options.tieBreak);
  }

  private async createResource(stack: Stack, plan: ResolvedTemplate, id: string, counted: boolean): Promise<Outcome> {
    const def = plan.template.Resources[id];
    const properties = plan.properties(id);
    const record: StackResource = {
      logicalId: id,
      type: def.Type,
      physicalId: '',
      properties,
      attributes: {},
      status: 'CREATE_IN_PROGRESS',
      lastUpdated: new Date(),
      deletionPolicy: def.DeletionPolicy,
      updateReplacePolicy: def.UpdateReplacePolicy,
      createdInOperation: stack.operation,
    };
    stack.resources.set(id, record);
    stack.setResourceStatus(record, 'CREATE_IN_PROGRESS');
    const outcome = await this.perform('create', { stack, logicalId: id, type: def.Type, properties, phase: stack.status }, counted);
    record.physicalId = outcome.result?.physicalId ?? outcome.failedPhysicalId ?? '';
    record.attributes = outcome.result?.attributes ?? {};
    stack.setResourceStatus(record, outcome.failure ? 'CREATE_FAILED' : 'CREATE_COMPLETE', outcome.failure);
    return outcome;
  }

  /** One logical id of the new template in UPDATE_IN_PROGRESS; returns the failure, if any. */
  private async updateOne(stack: Stack, plan: ResolvedTemplate, id: string, changes: Change[]): Promise<string | undefined> {
    const existing = stack.resources.get(id);
    const def = plan.template.Resources[id];
    if (!existing) {
      const outcome = await this.createResource(stack, plan, id, true);
      if (stack.resources.get(id)?.physicalId) changes.push({ logicalId: id, kind: 'created' });
      return outcome.failure && `${id} (create): ${outcome.failure}`;
    }
    if (existing.type !== def.Type) {
      stack.setResourceStatus(existing, 'UPDATE_FAILED', 'Update of resource type is not permitted');
      return `${id} (update): Update of resource type is not permitted`;
    }
    // Policies are CloudFormation's own attributes: a change to them alone touches no physical resource.
    existing.deletionPolicy = def.DeletionPolicy;
    existing.updateReplacePolicy = def.UpdateReplacePolicy;
    const properties = plan.properties(id);
    if (stableJson(properties) === stableJson(existing.properties)) return undefined;
    const before: StackResource = { ...existing };
    const provider = this.providers.providerFor(def.Type);

    if (provider.replaces?.(existing.properties, properties)) {
      const record: StackResource = { ...existing, physicalId: '', properties, attributes: {}, createdInOperation: stack.operation };
      stack.resources.set(id, record);
      stack.setResourceStatus(record, 'UPDATE_IN_PROGRESS', 'Requested update requires the creation of a new physical resource; hence creating one.');
      const outcome = await this.perform('create', { stack, logicalId: id, type: def.Type, properties, phase: stack.status }, true, 'update');
      record.physicalId = outcome.result?.physicalId ?? outcome.failedPhysicalId ?? '';
      record.attributes = outcome.result?.attributes ?? {};
      changes.push({ logicalId: id, kind: 'replaced', before, after: record });
      stack.setResourceStatus(record, outcome.failure ? 'UPDATE_FAILED' : 'UPDATE_COMPLETE', outcome.failure);
      return outcome.failure && `${id} (replace): ${outcome.failure}`;
    }

    stack.setResourceStatus(existing, 'UPDATE_IN_PROGRESS');
    const outcome = await this.perform('update', {
      stack, logicalId: id, type: def.Type, properties, oldProperties: existing.properties, physicalId: existing.physicalId, phase: stack.status,
    }, true);
    if (outcome.failure) {
      // A resource whose update ran (a custom resource that answered FAILED) is updated back on rollback too.
      if (outcome.ran) changes.push({ logicalId: id, kind: 'updated', before, newProperties: properties });
      stack.setResourceStatus(existing, 'UPDATE_FAILED', outcome.failure);
      return `${id} (update): ${outcome.failure}`;
    }
    const result = outcome.result!;
    if (result.physicalId !== before.physicalId) {
      // "AWS CloudFormation recognizes the update as a replacement": the old id is deleted in the cleanup phase.
      const record: StackResource = {
        ...existing, physicalId: result.physicalId, properties, attributes: result.attributes ?? {}, createdInOperation: stack.operation,
      };
      stack.resources.set(id, record);
      stack.setResourceStatus(record, 'UPDATE_COMPLETE');
      changes.push({ logicalId: id, kind: 'replaced', before, after: record });
    } else {
      existing.properties = properties;
      existing.attributes = result.attributes ?? existing.attributes;
      stack.setResourceStatus(existing, 'UPDATE_COMPLETE');
      changes.push({ logicalId: id, kind: 'updated', before, newProperties: properties });
    }
    return undefined;
  }

  /** UPDATE_ROLLBACK_IN_PROGRESS for a resource updated in place: an Update with the old and new properties swapped. */
  private async revert(stack: Stack, change: Change): Promise<string | undefined> {
    const before = change.before!;
    const record = stack.resources.get(change.logicalId)!;
    stack.setResourceStatus(record, 'UPDATE_IN_PROGRESS');
    const outcome = await this.perform('update', {
      stack,
      logicalId: before.logicalId,
      type: before.type,
      properties: before.properties,
      oldProperties: change.newProperties,
      physicalId: before.physicalId,
      phase: stack.status,
    }, false);
    if (outcome.failure) {
      stack.setResourceStatus(record, 'UPDATE_FAILED', outcome.failure);
      return `${change.logicalId} (rollback update): ${outcome.failure}`;
    }
    record.properties = before.properties;
    record.attributes = outcome.result?.attributes ?? before.attributes;
    stack.setResourceStatus(record, 'UPDATE_COMPLETE');
    return undefined;
  }

  /**
   * Deletes in the given order, skipping what a failed (or kept) dependent still needs; returns whether all went.
   * `createdNow`: a rollback of the operation that created them (RetainExceptOnCreate deletes then).
   */
  private async deleteInOrder(
    stack: Stack, order: string[], graph: Map<string, Set<string>>, createdNow: boolean, counted: boolean, failures: string[],
  ): Promise<boolean> {
    const stuck = new Set<string>();
    for (const id of order) {
      const record = stack.resources.get(id);
      if (!record || GONE.has(record.status)) continue;
      const dependents = [...graph.entries()].filter(([, deps]) => deps.has(id)).map(([d]) => d);
      if (dependents.some((d) => stuck.has(d))) {
        stuck.add(id);
        continue;
      }
      const keep = keepsOnRemoval(record.deletionPolicy, createdNow && record.createdInOperation === stack.operation);
      if (!(await this.deletePhysical(stack, record, keep, failures, record, counted))) stuck.add(id);
    }
    return stuck.size === 0;
  }

  /**
   * Deletes one physical resource (or skips it, `keep`); `record` is the stack's entry whose status follows (absent
   * for the old physical resource of a replacement, which only gets events). Returns whether it is gone or kept.
   */
  private async deletePhysical(
    stack: Stack, target: StackResource, keep: boolean, failures: string[], record?: StackResource, counted = false,
  ): Promise<boolean> {
    const mark = (status: 'DELETE_IN_PROGRESS' | 'DELETE_COMPLETE' | 'DELETE_FAILED' | 'DELETE_SKIPPED', reason?: string) => {
      if (record) stack.setResourceStatus(record, status, reason);
      else stack.addEvent(target, status, reason);
    };
    if (keep) {
      mark('DELETE_SKIPPED');
      return true;
    }
    if (!target.physicalId) {
      // Never made (its create failed before anything existed): nothing to delete.
      mark('DELETE_COMPLETE');
      return true;
    }
    mark('DELETE_IN_PROGRESS');
    const outcome = await this.perform('delete', {
      stack, logicalId: target.logicalId, type: target.type, properties: target.properties, physicalId: target.physicalId, phase: stack.status,
    }, counted);
    if (outcome.failure) {
      failures.push(`${target.logicalId} (delete ${target.physicalId}): ${outcome.failure}`);
      mark('DELETE_FAILED', outcome.failure);
      return false;
    }
    mark('DELETE_COMPLETE');
    return true;
  }

  /** Runs the provider, with any injected failure, and then the rotations whose moment has come. */
  private async perform(action: ResourceAction, request: ResourceRequest, counted: boolean, injectAs: ResourceAction = action): Promise<Outcome> {
    const injected = this.failures.take(request.logicalId, injectAs, counted);
    let outcome: Outcome;
    if (injected?.when === 'before') {
      outcome = { failure: injected.reason, ran: false };
    } else {
      const provider = this.providers.providerFor(request.type);
      try {
        let result: ProviderResult | undefined;
        if (action === 'delete') await provider.delete(request);
        else result = action === 'create' ? await provider.create(request) : await provider.update(request);
        outcome = injected
          ? { result, failure: injected.reason, failedPhysicalId: result?.physicalId ?? request.physicalId, ran: true }
          : { result, ran: true };
      } catch (e) {
        const failure = e instanceof ResourceFailure ? e : undefined;
        outcome = { failure: (e as Error).message, failedPhysicalId: failure?.physicalId, ran: !failure?.refused };
      }
    }
    this.actions += 1;
    this.services.iam.advance();
    await this.runPending();
    const afterComplete = outcome.failure ? undefined : outcome.result?.afterComplete;
    if (afterComplete) {
      const timing = this.services.options.rotationTiming;
      if (timing === 'immediate') await afterComplete();
      else this.pending.push({ due: timing === 'manual' ? Number.POSITIVE_INFINITY : this.actions + 1, run: afterComplete });
    }
    return outcome;
  }

  /** At the end of an operation, deleted (and retained) resources leave ListStackResources. */
  private dropGone(stack: Stack, ids: string[]): void {
    for (const id of ids) {
      const r = stack.resources.get(id);
      if (r && (GONE.has(r.status) || (r.status === 'CREATE_FAILED' && !r.physicalId))) stack.resources.delete(id);
    }
  }
}
