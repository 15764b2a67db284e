import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { representativeStack } from './fixtures';
import { PYTHON_TOOLS_HINT, pythonWithTools } from '../support/python-tools';

// CDK adds DependsOn that CloudFormation would infer anyway; cfn-lint reports those as W3005.
const ACCEPTED_RULES = new Set(['W3005']);
// cfn-lint's console script, run with the Python that has it (the package has no __main__).
const CFN_LINT = 'import sys; from cfnlint.runner import main; sys.argv[0] = "cfn-lint"; sys.exit(main())';

test('cfn-lint finds no error and no warning but CDK\'s own W3005 in the synthesized template', () => {
  // GIVEN
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'astra-cfn-lint-'));
  const app = new App({ outdir });
  representativeStack(app);
  // WHEN
  app.synth();
  const template = path.join(outdir, 'AstraTokens.template.json');
  const run = spawnSync(pythonWithTools(), ['-c', CFN_LINT, '--format', 'json', '--regions', 'eu-west-1', 'us-east-1', '--', template], { encoding: 'utf8' });
  fs.rmSync(outdir, { recursive: true, force: true });
  // THEN
  if (run.error || /No module named '?cfnlint/.test(run.stderr)) {
    throw new Error(`cfn-lint could not run (${run.error?.message ?? run.stderr.trim()}): ${PYTHON_TOOLS_HINT}`);
  }
  // cfn-lint ran and answered in JSON: "[]" when it finds nothing.
  expect(run.stdout.trim()).toMatch(/^\[/);
  const findings: Array<{ Rule: { Id: string }; Message: string }> = JSON.parse(run.stdout);
  expect(findings.filter((f) => !ACCEPTED_RULES.has(f.Rule.Id)).map((f) => `${f.Rule.Id}: ${f.Message}`)).toEqual([]);
  expect([0, 4]).toContain(run.status);
});
