import { awscdk, javascript } from 'projen';

// The handler's bundle: the name of the folder under assets/ that src/ points the Lambda at.
const ROTATION_ASSET = 'assets/rotation-handler';

const PYTHON_TEST_TOOLS = [
  { name: 'Set up Python', uses: 'actions/setup-python@v5', with: { 'python-version': '3.11' } },
  { name: 'Install the Python test tools', run: 'python -m pip install -r requirements-dev.txt' },
];

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-astra-token-secret',
  description:
    'AWS CDK construct: a Secrets Manager secret holding a DataStax Astra token, rotated by a bundled, least-privilege Lambda.',
  author: 'cdk-astra-token-secret maintainers',
  authorAddress: 'maintainers@users.noreply.example',
  repositoryUrl: 'https://github.com/example/cdk-astra-token-secret.git',
  license: 'Apache-2.0',
  keywords: ['cdk', 'aws-cdk', 'datastax', 'astra', 'secrets-manager', 'rotation', 'cassandra'],
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,

  // The peer minimum: the first release whose determineLatestNodeRuntime answers a runtime Lambda still
  // creates (nodejs22.x) in every region it knows; the rotation function's runtime comes from it.
  cdkVersion: '2.221.0',
  constructsVersion: '10.5.1',
  jsiiVersion: '~6.0.0',

  tsconfigDevFile: 'tsconfig.dev.json',
  tsconfigDev: { include: ['.projenrc.ts'], compilerOptions: {} },
  // One project for every linted file: the dev tsconfig covers src/, lambda/ and test/.
  eslintOptions: { dirs: ['src'], devdirs: ['test', 'lambda', 'examples', 'bench'], projectService: false, tsconfigPath: './tsconfig.dev.json' },

  // Construct Hub's conventions: the npm name for PyPI and Maven's artifact, a reverse-DNS package under the
  // repository's owner for Java, PascalCase for .NET. Go is not published: projen's Go target pushes the generated
  // module to a second repository that must be made by hand (README, Install).
  publishToPypi: {
    distName: 'cdk-astra-token-secret',
    module: 'cdk_astra_token_secret',
  },
  publishToMaven: {
    javaPackage: 'io.github.example.cdk.astra.token.secret',
    mavenGroupId: 'io.github.example',
    mavenArtifactId: 'cdk-astra-token-secret',
  },
  publishToNuget: {
    dotNetNamespace: 'Example.CdkAstraTokenSecret',
    packageId: 'Example.CdkAstraTokenSecret',
  },

  devDeps: [
    // Bundled into the rotation Lambda at build time (see the bundle task below).
    '@aws-sdk/client-secrets-manager@^3',
    // Bundled too: the teardown reads the stack's state (its evidence that CloudFormation deletes a secret).
    '@aws-sdk/client-cloudformation@^3',
    // The bundle's credentials: from Lambda's environment only (lambda/bundle-stubs/env-credentials.ts stands in for the default chain).
    '@aws-sdk/credential-provider-env@^3',
    'esbuild@^0.25',
    // Jest's own sequencer, extended by test/support/slow-first-sequencer.js.
    '@jest/test-sequencer@^30',
    // Unit tests of the handler mock the SDK client rather than hand-rolling fakes.
    'aws-sdk-client-mock@^4',
    // The Astra emulator validates every request against DataStax's OpenAPI spec.
    'openapi-backend@^5',
    'yaml@^2',
    // cdk-nag 2 keeps the Aspects API that works with the peer-minimum aws-cdk-lib.
    'cdk-nag@^2',
    // The integ snapshot (test/integ.*.ts): integ-tests-alpha pinned to a release whose peer range
    // accepts the aws-cdk-lib we build against.
    '@aws-cdk/integ-runner@^2.197',
    '@aws-cdk/integ-tests-alpha@2.214.0-alpha.0',
  ],

  jestOptions: {
    // A snapshot that differs must fail the test run, never be rewritten by it.
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      testTimeout: 60_000,
      // Every core: the e2e files wait on their servers and child processes more than they compute.
      maxWorkers: '100%',
      // The longest files first, also on a fresh clone that has no timings of an earlier run.
      testSequencer: '<rootDir>/test/support/slow-first-sequencer.js',
      // The handler's branches, from its unit tests (the e2e tests run the bundle in other processes, unmeasured).
      collectCoverageFrom: ['src/**/*.ts', 'lambda/**/*.ts'],
      testPathIgnorePatterns: ['/node_modules/', '/cdk.out/'],
      // The API baseline's package.json names this package too: not a module of the tests.
      modulePathIgnorePatterns: ['<rootDir>/.api-baseline/'],
    },
  },

  gitignore: ['/assets/', 'cdk.out/', '/build/', '/bench/tmp/', '.jsii.tabl.json', 'cdk-integ.out.*/', '/.venv/', '*.snapshot/asset.*'],

  // GitHub's runners, before the build (which runs the tests): the Python tools the tests run, pinned in requirements-dev.txt.
  buildWorkflowOptions: { preBuildSteps: PYTHON_TEST_TOOLS },
  releaseWorkflowSetupSteps: PYTHON_TEST_TOOLS,
  excludeTypescript: ['lambda/**', 'examples/**', 'bench/**'],
});

// The rotation handler is plain TypeScript outside src/: jsii must not see it, so it is
// type-checked against the dev tsconfig and bundled with esbuild into assets/ before compile.
const typecheck = project.addTask('typecheck', {
  description: 'Type-check src/, lambda/ and test/ with the dev tsconfig',
  exec: 'tsc --noEmit -p tsconfig.dev.json',
});

// The AWS SDK is bundled, minified, from its ES-module build (--main-fields=module,main lets
// esbuild tree-shake it): `npx projen bench` measured a fresh process loading it and building its
// client 12-14% faster than with @aws-sdk/* external (84 vs 96 ms, 134 vs 156 ms: medians of 25 in two runs), and
// bundling pins the SDK version we test against instead of whatever the Lambda runtime carries.
// The flags both files of the asset are bundled with.
const bundleFlags = [
  '--bundle --platform=node --target=node20 --format=cjs',
  // No --keep-names: every class and error of ours and the SDK's sets its `name` itself; keeping names costs load time.
  '--minify',
  '--main-fields=module,main',
  // Lambda's environment holds the role's credentials: the rest of the default chain is code the function never runs.
  '--alias:@aws-sdk/credential-provider-node=./lambda/bundle-stubs/env-credentials.ts',
  // What the function never uses but the SDK would load at start (see lambda/bundle-stubs/; the bench measures each):
  // WHATWG streams (the SDK's check for a streaming body; ours are Node streams), zlib, shared config files.
  '--define:ReadableStream=undefined',
  '--alias:node:zlib=./lambda/bundle-stubs/no-zlib.ts',
  '--alias:node:fs/promises=./lambda/bundle-stubs/no-shared-config-files.ts',
];
const bundle = project.addTask('bundle:rotation-handler', {
  description: 'Bundle lambda/ into the rotation function asset',
  steps: [
    // The CloudFormation client is the teardown's alone: a file of its own, required on the first teardown request, so
    // that a rotation step neither loads nor parses it (in the main file it cost 14 ms of every cold start).
    { exec: ['esbuild lambda/index.ts', ...bundleFlags, '--external:./clients/cloudformation', `--outfile=${ROTATION_ASSET}/index.js`].join(' ') },
    { exec: ['esbuild lambda/clients/cloudformation.ts', ...bundleFlags, `--outfile=${ROTATION_ASSET}/clients/cloudformation.js`].join(' ') },
  ],
});
project.preCompileTask.spawn(bundle);
project.testTask.prependSpawn(bundle);
project.testTask.prependSpawn(typecheck);

// The Node.js release Lambda runs the function on, from the npm registry (test/lambda-node/package.json pins it): the
// e2e tests, the demo and the bench run the shipped bundle on it. A package of its own, so that its `node` is not
// linked into node_modules/.bin, where it would become the Node of every tool.
const lambdaNodeTask = project.addTask('install:lambda-node', {
  description: 'Install the Node.js that Lambda runs the function on (test/lambda-node), when it is missing or not the pinned one',
  condition: 'node test/lambda-node/outdated.js',
  exec: 'npm ci --prefix test/lambda-node --no-audit --no-fund',
});
project.testTask.prependSpawn(lambdaNodeTask);

// The README's TypeScript examples, compiled and translated into every jsii language by jsii-rosetta in strict mode
// (a snippet that does not compile fails the build); the tablet it writes is what jsii-pacmak and Construct Hub show.
// Snippets without imports compile in rosetta/context.ts-fixture (`ts fixture=context`).
const examples = project.addTask('docs:examples', {
  description: 'Compile and translate the README\'s examples with jsii-rosetta (strict)',
  exec: 'jsii-rosetta extract --strict --cache-to .jsii.tabl.json .',
});
project.postCompileTask.spawn(examples);

// API compatibility: jsii-diff compares the built assembly with the last release's, kept in .api-baseline/ (a dot
// folder: jsii-docgen's search for assemblies skips it, and would otherwise document the baseline) (its .jsii
// and package.json: jsii-diff loads the dependencies from there). A breaking change fails the build unless its key
// (printed by the failure) is declared in .api-baseline/allowed-breaking-changes.txt; api:baseline, run on a release,
// makes that release the baseline and clears the declarations.
const apiCompat = project.addTask('api:compat', {
  description: 'Fail on a change that breaks the API of the last release (.api-baseline/), unless it is declared',
  exec: 'jsii-diff .api-baseline . --keys --error-on prod --ignore-file .api-baseline/allowed-breaking-changes.txt',
});
project.postCompileTask.spawn(apiCompat);
project.addPackageIgnore('/.api-baseline/');
// The baseline assembly is committed (projen ignores every other .jsii, which the build writes).
project.gitignore.include('/.api-baseline/.jsii');
project.addPackageIgnore('/rosetta/');
project.addTask('api:baseline', {
  description: 'Make the built assembly the API baseline (run on a release, after compile)',
  exec: 'node scripts/api-baseline.js',
});

// moto's server and cfn-lint: this machine's python3 when it has them, else requirements-dev.txt in .venv.
const pythonTools = project.addTask('python-tools', {
  description: 'Make the Python test tools (requirements-dev.txt) available: python3\'s own, or a project .venv',
  exec: 'bash scripts/python-tools',
});
project.testTask.prependSpawn(pythonTools);

// integ-runner synthesizes test/integ.*.ts (ts-node against the dev tsconfig, since the root
// tsconfig's rootDir is src/) and compares the templates with the committed snapshot. Without
// --update-on-failed or --force it never deploys: a difference fails the task. Asset hashes are
// normalised in that comparison, so a handler change alone does not fail it.
const integEnv = { TS_NODE_PROJECT: 'tsconfig.dev.json', TS_NODE_TRANSPILE_ONLY: 'true' };
const integ = project.addTask('integ', {
  description: 'Check the integ snapshot (synth only, never deploys)',
  env: integEnv,
  steps: [
    { spawn: bundle.name },
    { exec: 'integ-runner --language typescript --directory test --strict', receiveArgs: true },
  ],
});
project.addTask('integ:update', {
  description: 'Re-create the integ snapshot by synthesizing (--dry-run: never deploys)',
  env: integEnv,
  steps: [
    { spawn: bundle.name },
    { exec: 'integ-runner --language typescript --directory test --force --update-on-failed --dry-run --no-update-workflow', receiveArgs: true },
  ],
});
project.testTask.spawn(integ);

// At least 95% of the handler's branches, measured by its unit tests (projen's jestConfig has only a global threshold).
project.package.file.addOverride('jest.coverageThreshold', { './lambda/': { branches: 95 } });

// src/shared/ holds what the construct and the rotation handler's bundle both use: importing anything there but
// a Node built-in would pull something (aws-cdk-lib, say) into the Lambda bundle.
project.eslint?.addOverride({
  files: ['src/shared/**/*.ts'],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [{ group: ['*', '!node:*'], message: 'src/shared/ is bundled into the rotation function: import nothing but Node built-ins (node:...).' }],
    }],
  },
});

// No import cycles (the rule sees value imports; lambda/ had two type-only ones, binding <-> secret-value and
// rotation <-> token-lifetime, now gone too).
project.eslint?.addRules({ 'import/no-cycle': ['error', { allowUnsafeDynamicCyclicDependency: false }] });

// unrs-resolver 1.13.0 (under jest and the eslint resolver) names platform bindings that the npm registry
// reachable here does not serve, so `npm ci` would refuse the lock file; 1.12.2 is served whole.
project.package.addPackageResolutions('unrs-resolver@1.12.2');

project.addTask('demo', {
  description: 'Synthesize examples/app.ts and rotate its secrets twice against local moto and the Astra emulator',
  // The SDK warns on every process that Node 20 support ends; the Lambda runs the newest Node runtime.
  env: { NODE_NO_WARNINGS: '1' },
  steps: [
    { spawn: pythonTools.name },
    { spawn: lambdaNodeTask.name },
    { spawn: bundle.name },
    { exec: 'ts-node -P tsconfig.dev.json examples/demo.ts' },
  ],
});

project.addTask('bench', {
  description: 'Cold start, rotation latency, memory, bundle size and synth scaling; writes bench/results.json and bench/RESULTS.md',
  steps: [
    { spawn: pythonTools.name },
    { spawn: lambdaNodeTask.name },
    { spawn: bundle.name },
    { exec: 'ts-node -P tsconfig.dev.json bench/run.ts' },
  ],
});

for (const pattern of ['/lambda/', '/bench/', '/examples/', '/.ci/', '/scripts/', '/requirements-dev.txt', '/.venv/', 'cdk.out/', '/build/', '/tsconfig.dev.json', 'cdk-integ.out.*/']) {
  project.addPackageIgnore(pattern);
}

project.synth();
