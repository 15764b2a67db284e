import { explicitDependencies, Template } from './template';

/**
 * The order CloudFormation works in: a resource after everything it depends on, explicitly (DependsOn) or implicitly
 * (Ref, Fn::GetAtt, Fn::Sub's ${X} and ${X.Attr}). CloudFormation runs independent resources in parallel; the model runs
 * one at a time in an order consistent with the dependencies, deterministic so that a scenario replays the same way.
 * `tieBreak` picks which of two independent resources goes first, so a test can try both interleavings.
 */
export type TieBreak = 'template' | 'reverse-template';

/** The variable names of a Fn::Sub string, without `${!Literal}` escapes: `X` or `X.Attr`. */
export function subVariables(text: string): string[] {
  const names: string[] = [];
  for (const match of text.matchAll(/\$\{([^}]*)\}/g)) {
    const name = match[1].trim();
    if (!name.startsWith('!')) names.push(name);
  }
  return names;
}

/** Every logical id of `known` that `value` refers to through Ref, Fn::GetAtt or Fn::Sub. */
export function referencedResources(value: unknown, known: ReadonlySet<string>): Set<string> {
  const found = new Set<string>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) {
      v.forEach(visit);
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === 'Ref' && typeof o.Ref === 'string') {
      if (known.has(o.Ref)) found.add(o.Ref);
      return;
    }
    if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
      const arg = o['Fn::GetAtt'];
      const target = Array.isArray(arg) ? arg[0] : typeof arg === 'string' ? arg.split('.')[0] : undefined;
      if (typeof target === 'string' && known.has(target)) found.add(target);
      if (Array.isArray(arg)) arg.slice(1).forEach(visit);
      return;
    }
    if (keys.length === 1 && keys[0] === 'Fn::Sub') {
      const arg = o['Fn::Sub'];
      const [text, variables] = Array.isArray(arg) ? [arg[0], arg[1] as Record<string, unknown> | undefined] : [arg, undefined];
      const own = new Set(Object.keys(variables ?? {}));
      if (typeof text === 'string') {
        for (const name of subVariables(text)) {
          const target = name.split('.')[0];
          if (!own.has(name) && known.has(target)) found.add(target);
        }
      }
      if (variables) visit(variables);
      return;
    }
    for (const x of Object.values(o)) visit(x);
  };
  visit(value);
  return found;
}

/** For each resource, the resources it depends on (only those in the template). */
export function dependencyGraph(
  template: Template, included: ReadonlySet<string> = new Set(Object.keys(template.Resources)),
): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (!included.has(id)) continue;
    const deps = referencedResources(resource.Properties ?? {}, included);
    for (const d of explicitDependencies(resource)) if (included.has(d)) deps.add(d);
    deps.delete(id);
    graph.set(id, deps);
  }
  return graph;
}

/** Logical ids in an order where every resource comes after its dependencies; a cycle is an error, as in CloudFormation. */
export function creationOrder(graph: Map<string, Set<string>>, tieBreak: TieBreak = 'template'): string[] {
  const ids = [...graph.keys()];
  if (tieBreak === 'reverse-template') ids.reverse();
  const position = new Map(ids.map((id, i) => [id, i]));
  const remaining = new Map(ids.map((id) => [id, new Set(graph.get(id))]));
  const order: string[] = [];
  while (remaining.size > 0) {
    // The first ready resource in template order: deterministic, and readable in a failing test's event list.
    const ready = [...remaining.entries()].filter(([, deps]) => deps.size === 0).map(([id]) => id)
      .sort((a, b) => position.get(a)! - position.get(b)!);
    if (ready.length === 0) throw new Error(`Circular dependency between resources: [${[...remaining.keys()].sort().join(', ')}]`);
    const next = ready[0];
    order.push(next);
    remaining.delete(next);
    for (const deps of remaining.values()) deps.delete(next);
  }
  return order;
}

/** Everything `id` depends on, directly or through others. */
export function transitiveDependencies(graph: Map<string, Set<string>>, id: string): Set<string> {
  const seen = new Set<string>();
  const stack = [...(graph.get(id) ?? [])];
  while (stack.length) {
    const next = stack.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(graph.get(next) ?? []));
  }
  return seen;
}
