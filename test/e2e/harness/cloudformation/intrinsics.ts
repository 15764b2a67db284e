import { subVariables } from './dependencies';
import type { Template } from './template';

/**
 * CloudFormation's intrinsic functions, evaluated against the stack as it is at the moment a resource is reached:
 * a Ref or Fn::GetAtt names a resource created (or updated) before it, as the dependency order guarantees. Values
 * are compared after resolution to decide whether a resource changed, as CloudFormation does.
 */
export interface IntrinsicContext {
  /** AWS::Region, AWS::AccountId, AWS::Partition, AWS::URLSuffix, AWS::StackId, AWS::StackName. */
  readonly pseudo: Readonly<Record<string, string>>;
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly mappings?: Template['Mappings'];
  readonly conditions?: Template['Conditions'];
  /** What Ref gives for a resource of the stack (its physical id, or what its type returns instead). */
  ref(logicalId: string): unknown;
  getAtt(logicalId: string, attribute: string): unknown;
}

/** AWS::NoValue: the property (or list element) disappears. */
export const NO_VALUE: unique symbol = Symbol('AWS::NoValue');

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

const AVAILABILITY_ZONES = ['a', 'b', 'c', 'd', 'e', 'f'];

/** Resolves every intrinsic in `value`; AWS::NoValue removes the key or element it stands for. */
export function resolve(value: unknown, ctx: IntrinsicContext): unknown {
  const r = resolveValue(value, ctx, new Map());
  return r === NO_VALUE ? undefined : r;
}

/** A template condition's value (Fn::Equals, Fn::And, Fn::Or, Fn::Not, Condition). */
export function evaluateCondition(name: string, ctx: IntrinsicContext): boolean {
  return conditionValue(name, ctx, new Map());
}

function conditionValue(name: string, ctx: IntrinsicContext, memo: Map<string, boolean>): boolean {
  const known = memo.get(name);
  if (known !== undefined) return known;
  const expression = ctx.conditions?.[name];
  if (expression === undefined) throw new TemplateError(`Unresolved condition dependency ${name}`);
  const value = truthy(resolveValue(expression, ctx, memo), `condition ${name}`);
  memo.set(name, value);
  return value;
}

function truthy(value: unknown, where: string): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new TemplateError(`${where} is not a boolean: ${JSON.stringify(value)}`);
}

function resolveValue(value: unknown, ctx: IntrinsicContext, memo: Map<string, boolean>): unknown {
  const again = (v: unknown) => resolveValue(v, ctx, memo);
  if (Array.isArray(value)) return value.map(again).filter((v) => v !== NO_VALUE);
  if (typeof value !== 'object' || value === null) return value;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::') || keys[0] === 'Condition')) {
    const fn = keys[0];
    const arg = o[fn];
    switch (fn) {
      case 'Ref': return refValue(String(arg), ctx);
      case 'Condition': return conditionValue(String(arg), ctx, memo);
      case 'Fn::GetAtt': {
        const [id, attribute] = Array.isArray(arg) ? [String(arg[0]), String(again(arg[1]))] : splitOnce(String(arg));
        return ctx.getAtt(id, attribute);
      }
      case 'Fn::Join': {
        const [delimiter, list] = arg as [string, unknown];
        const items = again(list);
        if (!Array.isArray(items)) throw new TemplateError(`Fn::Join needs a list: ${JSON.stringify(items)}`);
        return items.map((x) => scalar(x, 'Fn::Join')).join(delimiter);
      }
      case 'Fn::Sub': return substitute(arg, ctx, again);
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        const items = again(list);
        const i = Number(again(index));
        // A fake list-valued attribute may come back as one string: selecting from it gives it.
        if (!Array.isArray(items)) return items;
        if (!Number.isInteger(i) || i < 0 || i >= items.length) throw new TemplateError(`Fn::Select index ${i} out of range`);
        return items[i];
      }
      case 'Fn::Split': {
        const [delimiter, text] = arg as [string, unknown];
        return scalar(again(text), 'Fn::Split').split(delimiter);
      }
      case 'Fn::If': {
        const [condition, whenTrue, whenFalse] = arg as [string, unknown, unknown];
        return again(conditionValue(condition, ctx, memo) ? whenTrue : whenFalse);
      }
      case 'Fn::Equals': {
        const [a, b] = (arg as unknown[]).map(again);
        return JSON.stringify(a) === JSON.stringify(b) || String(a) === String(b);
      }
      case 'Fn::And': return (arg as unknown[]).every((c) => truthy(again(c), 'Fn::And'));
      case 'Fn::Or': return (arg as unknown[]).some((c) => truthy(again(c), 'Fn::Or'));
      case 'Fn::Not': return !truthy(again((arg as unknown[])[0]), 'Fn::Not');
      case 'Fn::FindInMap': {
        const [map, top, second] = (arg as unknown[]).slice(0, 3).map((x) => String(again(x)));
        const found = ctx.mappings?.[map]?.[top]?.[second];
        if (found === undefined) {
          const fallback = (arg as unknown[])[3] as { DefaultValue?: unknown } | undefined;
          if (fallback?.DefaultValue !== undefined) return again(fallback.DefaultValue);
          throw new TemplateError(`Fn::FindInMap: no ${map}/${top}/${second}`);
        }
        return again(found);
      }
      case 'Fn::GetAZs': {
        const region = String(again(arg) || ctx.pseudo['AWS::Region']);
        return AVAILABILITY_ZONES.slice(0, 3).map((z) => `${region}${z}`);
      }
      case 'Fn::Base64': return Buffer.from(scalar(again(arg), 'Fn::Base64')).toString('base64');
      case 'Fn::ImportValue': return `imported-${scalar(again(arg), 'Fn::ImportValue')}`;
      case 'Fn::ToJsonString': return JSON.stringify(again(arg));
      case 'Fn::Length': {
        const items = again(arg);
        return Array.isArray(items) ? items.length : 0;
      }
      case 'Fn::Cidr': {
        const [, count] = (arg as unknown[]).map(again);
        return Array.from({ length: Number(count) }, (_, i) => `10.0.${i}.0/24`);
      }
      default:
        throw new TemplateError(`The model does not know the intrinsic ${fn}`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    const r = again(v);
    if (r !== NO_VALUE) out[k] = r;
  }
  return out;
}

function refValue(name: string, ctx: IntrinsicContext): unknown {
  if (name === 'AWS::NoValue') return NO_VALUE;
  if (name === 'AWS::NotificationARNs') return [];
  if (name.startsWith('AWS::')) {
    const v = ctx.pseudo[name];
    if (v === undefined) throw new TemplateError(`Unknown pseudo parameter ${name}`);
    return v;
  }
  if (name in ctx.parameters) return ctx.parameters[name];
  return ctx.ref(name);
}

function substitute(arg: unknown, ctx: IntrinsicContext, again: (v: unknown) => unknown): string {
  const [text, variables] = Array.isArray(arg) ? [String(arg[0]), arg[1] as Record<string, unknown> | undefined] : [String(arg), undefined];
  const own = Object.fromEntries(Object.entries(variables ?? {}).map(([k, v]) => [k, again(v)]));
  let result = text;
  for (const name of new Set(subVariables(text))) {
    let v: unknown;
    if (name in own) {v = own[name];} else if (name.startsWith('AWS::') || name in ctx.parameters || !name.includes('.')) {v = refValue(name, ctx);} else {
      const [id, attribute] = splitOnce(name);
      v = ctx.getAtt(id, attribute);
    }
    result = result.split(`\${${name}}`).join(scalar(v, 'Fn::Sub'));
  }
  // ${!Literal} is written out as ${Literal}.
  return result.replace(/\$\{!/g, '${');
}

function splitOnce(name: string): [string, string] {
  const dot = name.indexOf('.');
  if (dot < 0) throw new TemplateError(`Fn::GetAtt needs Resource.Attribute: ${name}`);
  return [name.slice(0, dot), name.slice(dot + 1)];
}

function scalar(v: unknown, where: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new TemplateError(`${where} needs a string, got ${JSON.stringify(v)}`);
}
