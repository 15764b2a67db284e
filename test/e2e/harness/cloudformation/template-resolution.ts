import { creationOrder, dependencyGraph, TieBreak } from './dependencies';
import { evaluateCondition, IntrinsicContext, resolve, TemplateError } from './intrinsics';
import type { ProviderTable } from './providers';
import { fakeAttribute } from './resource-names';
import type { Stack } from './stack';
import type { Template } from './template';

/**
 * A template read against a stack: parameter values, the resources its conditions keep, their dependency graph and
 * order, and an intrinsic context that reads the stack's resources as they are when a resource is reached.
 */
export interface ResolvedTemplate {
  readonly template: Template;
  readonly context: IntrinsicContext;
  /** The resources whose Condition holds (all of them without conditions). */
  readonly active: ReadonlySet<string>;
  readonly graph: Map<string, Set<string>>;
  /** Creation order; deletion goes the other way. */
  readonly order: readonly string[];
  properties(logicalId: string): Record<string, unknown>;
}

/**
 * A parameter's value: the test's, its Default, or a dummy of its type (an SSM-backed parameter such as CDK's
 * BootstrapVersion gets a placeholder; the model reads no SSM).
 */
export function parameterValues(template: Template, given: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(template.Parameters ?? {})) {
    if (name in given) values[name] = given[name];
    else if (p.Type.startsWith('AWS::SSM::Parameter::Value')) values[name] = name === 'BootstrapVersion' ? '99' : `ssm-placeholder-for-${name}`;
    else if (p.Default !== undefined) values[name] = p.Default;
    else if (p.Type === 'Number') values[name] = '0';
    else if (p.Type.startsWith('List<') || p.Type === 'CommaDelimitedList') values[name] = [];
    else values[name] = `placeholder-for-${name}`;
  }
  return values;
}

export function resolveTemplate(
  stack: Stack, template: Template, providers: ProviderTable, given: Record<string, unknown>, tieBreak: TieBreak,
): ResolvedTemplate {
  const env = stack.env;
  const context: IntrinsicContext = {
    pseudo: {
      'AWS::Region': env.region,
      'AWS::AccountId': env.account,
      'AWS::Partition': env.partition,
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackId': stack.id,
      'AWS::StackName': stack.name,
    },
    parameters: parameterValues(template, given),
    mappings: template.Mappings,
    conditions: template.Conditions,
    ref: (id) => {
      const r = stack.resources.get(id);
      if (!r?.physicalId) throw new TemplateError(`Ref to ${id}, which the stack does not hold (yet)`);
      return providers.providerFor(r.type).ref?.(r) ?? r.physicalId;
    },
    getAtt: (id, attribute) => {
      const r = stack.resources.get(id);
      if (!r?.physicalId) throw new TemplateError(`Fn::GetAtt of ${id}, which the stack does not hold (yet)`);
      return r.attributes[attribute] ?? fakeAttribute(env, r.type, r.physicalId, attribute);
    },
  };
  const active = new Set(Object.entries(template.Resources)
    .filter(([, r]) => r.Condition === undefined || evaluateCondition(r.Condition, context)).map(([id]) => id));
  const graph = dependencyGraph(template, active);
  return {
    template,
    context,
    active,
    graph,
    order: creationOrder(graph, tieBreak),
    properties: (id) => (resolve(template.Resources[id].Properties ?? {}, context) ?? {}) as Record<string, unknown>,
  };
}

/** JSON with sorted keys: resolved properties compare equal whatever order their keys came in. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
