import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { BENCH_TMP, BundleVariant, LEFT_OUT, buildBenchScript } from './bundles';
import { median, round } from './stats';
import { lambdaNode } from '../test/support/lambda-node';
import { pythonWithTools } from '../test/support/python-tools';

export interface ColdStartSubject {
  readonly name: string;
  readonly description: string;
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly runs: number;
}

export interface ColdStartResult {
  readonly runs: number;
  readonly subjects: ColdStartSubject[];
  /** The faster of the two Node bundles. */
  readonly fasterBundle: string;
  /** Median Python cold start divided by the median of each Node bundle. */
  readonly pythonOverBundled: number;
  readonly pythonOverExternal: number;
  /**
   * What each Node bundle adds on top of a bare `node -e 0`, as a fraction of python3+boto3's whole time (the issue's
   * measure of load cost: at most 0.12 is the goal for the shipped bundle).
   */
  readonly overheadOfBoto3: Record<string, number>;
  /** Per left-out part (bench/bundles.ts LEFT_OUT): milliseconds the shipped bundle saves against the variant that has it. */
  readonly leftOutSavesMs: Record<string, number>;
  readonly method: string;
}

/** What DataStax's rotator (lambda_function.py) imports at load; it builds its client with boto3.client(...). */
const PYTHON_ROTATOR_LOAD = [
  'import boto3, json, logging, os, http.client',
  'logger = logging.getLogger(); logger.setLevel(logging.INFO)',
  "boto3.client('secretsmanager', endpoint_url='https://127.0.0.1:1', region_name='us-east-1')",
].join('\n');

/** Dummy credentials and no shared config: nothing may look for credentials over the network (IMDS). */
function isolatedEnv(): NodeJS.ProcessEnv {
  const home = path.join(BENCH_TMP, 'home');
  mkdirSync(home, { recursive: true });
  return {
    PATH: process.env.PATH,
    HOME: home,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIABENCHDUMMY000000',
    AWS_SECRET_ACCESS_KEY: 'bench-dummy-secret-key',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: path.join(home, 'none-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'none-credentials'),
    // Loopback only: the probe stops the request before a socket opens anyway.
    SECRETS_MANAGER_ENDPOINT: 'https://127.0.0.1:1',
    ASTRA_API_URL: 'http://127.0.0.1:1',
  };
}

interface Command {
  readonly name: string;
  readonly description: string;
  readonly file: string;
  readonly args: string[];
  readonly check?: (stdout: string) => void;
}

function timeOnce(command: Command, env: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  const run = spawnSync(command.file, command.args, { env, encoding: 'utf8', cwd: BENCH_TMP });
  const elapsed = performance.now() - t0;
  if (run.status !== 0) throw new Error(`cold start of ${command.name} exited with ${run.status}: ${run.stderr}`);
  command.check?.(run.stdout);
  return elapsed;
}

function probeCheck(name: string): (stdout: string) => void {
  return (stdout) => {
    const line = stdout.trim().split('\n').pop() ?? '';
    if (!line.startsWith('BENCH_PROBE ')) throw new Error(`${name}: the probe printed no result: ${stdout.slice(-500)}`);
    const result = JSON.parse(line.slice('BENCH_PROBE '.length)) as { stopped: number; error: string };
    // Exactly one request reached the stub: the client was built and sent DescribeSecret, with no retry.
    if (result.stopped !== 1 || !result.error.includes('stopped before the network')) {
      throw new Error(`${name}: expected one stopped DescribeSecret request, got ${JSON.stringify(result)}`);
    }
  };
}

/**
 * Fresh processes, whole-process wall time (spawn to exit), interleaved so that drift hits every subject alike.
 */
export function measureColdStart(bundles: BundleVariant[], runs: number): ColdStartResult {
  const probe = buildBenchScript('cold-start-probe.ts');
  const python = pythonWithTools();
  const commands: Command[] = [
    ...bundles.map((b) => ({
      name: `node-${b.name}`,
      description: `node: load ${b.description}, build SecretsManagerClient, first request stopped before the socket`,
      file: lambdaNode().binary,
      args: [probe, b.file],
      check: probeCheck(b.name),
    })),
    {
      name: 'python-boto3',
      description: 'python3: DataStax rotator imports (boto3, ...) + boto3.client("secretsmanager")',
      file: python,
      args: ['-c', PYTHON_ROTATOR_LOAD],
    },
    { name: 'node-empty', description: 'baseline: node -e 0', file: lambdaNode().binary, args: ['-e', '0'] },
    { name: 'python-empty', description: 'baseline: python3 -c pass', file: python, args: ['-c', 'pass'] },
  ];
  const env = isolatedEnv();
  const samples = new Map<string, number[]>(commands.map((c) => [c.name, []]));
  for (let i = 0; i < 2; i++) commands.forEach((c) => timeOnce(c, env)); // warm the page cache
  for (let i = 0; i < runs; i++) {
    for (const c of commands) samples.get(c.name)!.push(timeOnce(c, env));
  }
  const subjects = commands.map((c) => {
    const s = samples.get(c.name)!;
    return {
      name: c.name,
      description: c.description,
      medianMs: round(median(s)),
      minMs: round(Math.min(...s)),
      maxMs: round(Math.max(...s)),
      runs: s.length,
    };
  });
  const med = (name: string) => subjects.find((s) => s.name === name)!.medianMs;
  const faster = med('node-bundled') <= med('node-external') ? 'bundled' : 'external';
  return {
    runs,
    subjects,
    fasterBundle: faster,
    pythonOverBundled: round(med('python-boto3') / med('node-bundled'), 2),
    pythonOverExternal: round(med('python-boto3') / med('node-external'), 2),
    overheadOfBoto3: Object.fromEntries(bundles.map((b) => [b.name, round((med(`node-${b.name}`) - med('node-empty')) / med('python-boto3'), 3)])),
    leftOutSavesMs: Object.fromEntries([...LEFT_OUT.map((l) => l.name), 'with-all-left-out']
      .map((name) => [name, round(med(`node-${name}`) - med('node-bundled'))])),
    method: 'Wall time of a fresh process from spawn to exit (spawnSync), subjects interleaved, 2 warm-up rounds not counted. ' +
      'Node: require the bundle, invoke createSecret, which builds the SecretsManagerClient as lambda/clients/secret-store.ts does and sends ' +
      'DescribeSecret; node:http/https.request are stubbed so that request stops before any socket (asserted: exactly one). ' +
      'Python: the imports of DataStax\'s lambda_function.py and boto3.client("secretsmanager") (client construction only).',
  };
}
