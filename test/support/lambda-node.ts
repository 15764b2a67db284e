import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const PACKAGE_DIR = path.join(__dirname, '..', 'lambda-node');

export interface LambdaNode {
  /** The node executable that runs the shipped bundle. */
  readonly binary: string;
  /** Its release, as the binary itself reports it (`v22.23.5`). */
  readonly version: string;
  readonly major: number;
}

/**
 * The Node.js the rotation function gets in Lambda: the exact release pinned in test/lambda-node/package.json, installed
 * from the npm registry by `npx projen install:lambda-node` (which `npx projen test` runs). The e2e harness, the demo
 * and the bench run the shipped bundle on it; jest, projen and jsii stay on the machine's Node. Where no package serves
 * this machine (Lambda's Node is built for Linux only), LAMBDA_NODE names a binary of the same major instead.
 */
const found = new Map<string, LambdaNode>();

export function lambdaNode(env: NodeJS.ProcessEnv = process.env): LambdaNode {
  const key = env.LAMBDA_NODE?.trim() ?? '';
  const known = found.get(key);
  if (known) return known;
  const located = locate(env);
  found.set(key, located);
  return located;
}

function locate(env: NodeJS.ProcessEnv): LambdaNode {
  const pinned = (JSON.parse(readFileSync(path.join(PACKAGE_DIR, 'package.json'), 'utf8')) as { optionalDependencies: Record<string, string> })
    .optionalDependencies;
  const anyPin = Object.values(pinned)[0];
  const override = env.LAMBDA_NODE?.trim();
  const name = `node-${process.platform}-${process.arch}`;
  const binary = override || path.join(PACKAGE_DIR, 'node_modules', name, 'bin', 'node');
  if (!existsSync(binary)) {
    throw new Error(`The Node.js that Lambda runs (${anyPin}) is not installed at ${binary}: run \`npx projen install:lambda-node\`. `
      + `${pinned[name] ? '' : `The npm registry has no ${name} package: `}set LAMBDA_NODE to a Node ${majorOf(anyPin)} binary to run the bundle elsewhere.`);
  }
  const version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
  return { binary, version, major: majorOf(version) };
}

function majorOf(version: string): number {
  return Number(/^v?(\d+)\./.exec(version)?.[1]);
}
