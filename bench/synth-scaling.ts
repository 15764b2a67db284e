import { readFileSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { App, Duration, SecretValue, Stack, aws_lambda as lambda, aws_secretsmanager as secretsmanager, aws_sns as sns } from 'aws-cdk-lib';
import { AstraTokenSecret } from '../src';
import { BENCH_TMP } from './bundles';
import { median, round } from './stats';
import { ROLE_ID } from '../test/construct/fixtures';

/** CloudFormation quotas: resources per stack, and template body size (1 MB, taken as 1,000,000 bytes to be safe). */
export const MAX_RESOURCES = 500;
export const MAX_TEMPLATE_BYTES = 1_000_000;

type Variant = 'AstraTokenSecret' | 'AstraTokenSecret with alarmTopic' | 'Secret+addRotationSchedule+Function';

export interface SynthPoint {
  readonly variant: Variant;
  readonly secrets: number;
  readonly runs: number;
  readonly synthMedianMs: number;
  readonly templateBytes: number;
  readonly resources: number;
  readonly resourcesPerSecret: number;
  readonly resourceTypes: Record<string, number>;
  /** Within CloudFormation's resource and template-size quotas (else `cdk synth` or the deploy refuses it). */
  readonly deployable: boolean;
}

export interface SynthLimits {
  readonly variant: Variant;
  /** Growth per added secret, from the 1- and 100-secret stacks. */
  readonly resourcesPerAddedSecret: number;
  readonly bytesPerAddedSecret: number;
  readonly fixedResources: number;
  readonly fixedBytes: number;
  readonly maxSecretsByResources: number;
  readonly maxSecretsByBytes: number;
  readonly maxSecretsPerStack: number;
  readonly limitedBy: string;
}

export interface SynthResult {
  readonly points: SynthPoint[];
  readonly limits: SynthLimits[];
  readonly configuredMemoryMiB: number;
  readonly method: string;
}

const ENV = { account: '123456789012', region: 'eu-west-1' };

/** What a user writes by hand instead: one function per secret, wired with aws-cdk-lib's addRotationSchedule. */
function handWritten(stack: Stack, n: number): void {
  for (let i = 0; i < n; i++) {
    const secret = new secretsmanager.Secret(stack, `Token${i}`, {
      secretObjectValue: { engine: SecretValue.unsafePlainText('AstraDB'), roleID: SecretValue.unsafePlainText(ROLE_ID) },
    });
    const fn = new lambda.Function(stack, `Rotation${i}`, {
      runtime: lambda.Runtime.NODEJS_20_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => {};'),
    });
    secret.addRotationSchedule(`Schedule${i}`, { rotationLambda: fn, automaticallyAfter: Duration.days(30) });
  }
}

function ours(stack: Stack, n: number): void {
  for (let i = 0; i < n; i++) new AstraTokenSecret(stack, `Token${i}`, { roleId: ROLE_ID });
}

/** The same with every secret's alerts going to one topic of the stack (the topic and its policy count too). */
function oursWithAlarmTopic(stack: Stack, n: number): void {
  const alarmTopic = new sns.Topic(stack, 'Alerts');
  for (let i = 0; i < n; i++) new AstraTokenSecret(stack, `Token${i}`, { roleId: ROLE_ID, alarmTopic });
}

const BUILDERS: Record<Variant, (stack: Stack, n: number) => void> = {
  'AstraTokenSecret': ours,
  'AstraTokenSecret with alarmTopic': oursWithAlarmTopic,
  'Secret+addRotationSchedule+Function': handWritten,
};

let runCounter = 0;

/** Builds the tree and synthesizes it as `cdk synth` would (path and asset metadata, version reporting on). */
function synthOnce(variant: Variant, n: number): { ms: number; template: Record<string, unknown>; bytes: number } {
  const outdir = path.join(BENCH_TMP, 'synth', `${runCounter++}`);
  const t0 = performance.now();
  const app = new App({
    outdir,
    analyticsReporting: true,
    // The resource limit is raised so that stacks beyond CloudFormation's quota can still be measured; such points are
    // reported as not deployable (`cdk synth` refuses them by default).
    context: { 'aws:cdk:enable-path-metadata': true, 'aws:cdk:enable-asset-metadata': true, '@aws-cdk/core:stackResourceLimit': 100_000 },
  });
  const stack = new Stack(app, 'Bench', { env: ENV });
  BUILDERS[variant](stack, n);
  const assembly = app.synth();
  const ms = performance.now() - t0;
  const file = assembly.getStackArtifact(stack.artifactId).templateFullPath;
  const bytes = statSync(file).size;
  const template = JSON.parse(readFileSync(file, 'utf8'));
  rmSync(outdir, { recursive: true, force: true });
  return { ms, template, bytes };
}

function limitsOf(variant: Variant, points: SynthPoint[]): SynthLimits {
  const mine = points.filter((p) => p.variant === variant).sort((a, b) => a.secrets - b.secrets);
  const first = mine[0];
  const last = mine[mine.length - 1];
  const dn = last.secrets - first.secrets;
  const resourcesPerAddedSecret = (last.resources - first.resources) / dn;
  const bytesPerAddedSecret = (last.templateBytes - first.templateBytes) / dn;
  const fixedResources = first.resources - first.secrets * resourcesPerAddedSecret;
  const fixedBytes = first.templateBytes - first.secrets * bytesPerAddedSecret;
  const maxSecretsByResources = Math.floor((MAX_RESOURCES - fixedResources) / resourcesPerAddedSecret);
  const maxSecretsByBytes = Math.floor((MAX_TEMPLATE_BYTES - fixedBytes) / bytesPerAddedSecret);
  return {
    variant,
    resourcesPerAddedSecret: round(resourcesPerAddedSecret, 2),
    bytesPerAddedSecret: round(bytesPerAddedSecret, 0),
    fixedResources: round(fixedResources, 2),
    fixedBytes: round(fixedBytes, 0),
    maxSecretsByResources,
    maxSecretsByBytes,
    maxSecretsPerStack: Math.min(maxSecretsByResources, maxSecretsByBytes),
    limitedBy: maxSecretsByResources <= maxSecretsByBytes ? `${MAX_RESOURCES} resources` : `${MAX_TEMPLATE_BYTES} template bytes`,
  };
}

export function measureSynthScaling(counts: Array<{ secrets: number; runs: number }>): SynthResult {
  rmSync(path.join(BENCH_TMP, 'synth'), { recursive: true, force: true });
  const variants = Object.keys(BUILDERS) as Variant[];
  variants.forEach((v) => synthOnce(v, 1)); // warm-up: aws-cdk-lib loads its modules lazily
  const points: SynthPoint[] = [];
  let configuredMemoryMiB = 0;
  for (const { secrets, runs } of counts) {
    for (const variant of variants) {
      const times: number[] = [];
      let last: ReturnType<typeof synthOnce> | undefined;
      for (let r = 0; r < runs; r++) {
        last = synthOnce(variant, secrets);
        times.push(last.ms);
      }
      const resources = Object.values((last!.template.Resources ?? {}) as Record<string, { Type: string; Properties?: { MemorySize?: number } }>);
      const resourceTypes: Record<string, number> = {};
      for (const r of resources) resourceTypes[r.Type] = (resourceTypes[r.Type] ?? 0) + 1;
      if (variant === 'AstraTokenSecret' && secrets === 1) {
        configuredMemoryMiB = resources.find((r) => r.Type === 'AWS::Lambda::Function')?.Properties?.MemorySize ?? 128;
      }
      points.push({
        variant,
        secrets,
        runs,
        synthMedianMs: round(median(times)),
        templateBytes: last!.bytes,
        resources: resources.length,
        resourcesPerSecret: round(resources.length / secrets, 2),
        resourceTypes,
        deployable: resources.length <= MAX_RESOURCES && last!.bytes <= MAX_TEMPLATE_BYTES,
      });
    }
  }
  return {
    points,
    limits: variants.map((v) => limitsOf(v, points)),
    configuredMemoryMiB,
    method: 'In this process, after one warm-up synth per variant: a fresh App (path and asset metadata and version reporting on, as ' +
      '`cdk synth` sets them) with one Stack in a concrete account/region, N secrets, then app.synth(); the time covers building the ' +
      'tree and synthesizing (not process start or module load). Template bytes: the written template file. The hand-written ' +
      'alternative is what aws-cdk-lib offers: Secret + lambda.Function (Node 20, tiny inline handler) + secret.addRotationSchedule, ' +
      'one function per secret. Max secrets per stack: (limit - fixed) / growth per added secret, growth taken from the 1- and ' +
      `100-secret stacks; limits ${MAX_RESOURCES} resources and 1 MB template (counted as ${MAX_TEMPLATE_BYTES} bytes).`,
  };
}
