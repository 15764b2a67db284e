/**
 * The build's API check (the api:compat task): jsii-diff against .api-baseline/, the last release's assembly. A change
 * that breaks it fails unless its key is declared in .api-baseline/allowed-breaking-changes.txt.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT, ensureBuiltLibrary } from './support/built-package';

const BASELINE = path.join(REPO_ROOT, '.api-baseline');
const REMOVED_KEY = 'removed:cdk-astra-token-secret.AstraTokenSecret.legacyToken';

/** jsii-diff as the task runs it, against `baseline`; its exit code and output. */
function apiCompat(baseline: string, ignoreFile = path.join(BASELINE, 'allowed-breaking-changes.txt')): { status: number | null; output: string } {
  const run = spawnSync('npx', ['jsii-diff', baseline, '.', '--keys', '--error-on', 'prod', '--ignore-file', ignoreFile],
    { cwd: REPO_ROOT, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/**
 * A baseline whose release had a method the build no longer has: what removing a public method looks like to
 * jsii-diff. Inside the repository, so that jsii-diff finds the dependencies' assemblies in node_modules.
 */
function baselineWithAMethodSinceRemoved(): string {
  const dir = fs.mkdtempSync(path.join(REPO_ROOT, 'build', '.api-compat-'));
  const assembly = JSON.parse(fs.readFileSync(path.join(BASELINE, '.jsii'), 'utf8'));
  assembly.types['cdk-astra-token-secret.AstraTokenSecret'].methods.push({ name: 'legacyToken', returns: { type: { primitive: 'string' } }, docs: { summary: 'Gone.' } });
  fs.writeFileSync(path.join(dir, '.jsii'), JSON.stringify(assembly));
  fs.copyFileSync(path.join(BASELINE, 'package.json'), path.join(dir, 'package.json'));
  return dir;
}

let scratch: string;
beforeAll(() => {
  ensureBuiltLibrary();
  fs.mkdirSync(path.join(REPO_ROOT, 'build'), { recursive: true });
  scratch = baselineWithAMethodSinceRemoved();
}, 5 * 60_000);
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

test('GIVEN the last release\'s API, WHEN the build compares with it, THEN it passes: nothing it offered is gone or changed', () => {
  const { status, output } = apiCompat(BASELINE);
  expect(output).not.toMatch(/^err/m);
  expect(status).toBe(0);
});

test('GIVEN a release that had a method the build lacks, WHEN the build compares, THEN it fails and names the change\'s key', () => {
  const { status, output } = apiCompat(scratch);
  expect(status).not.toBe(0);
  expect(output).toContain(`[${REMOVED_KEY}]`);
});

test('GIVEN that change declared in the allowed list, WHEN the build compares, THEN it passes', () => {
  const declared = path.join(scratch, 'allowed-breaking-changes.txt');
  fs.writeFileSync(declared, `${REMOVED_KEY}\n`);
  expect(apiCompat(scratch, declared).status).toBe(0);
});
