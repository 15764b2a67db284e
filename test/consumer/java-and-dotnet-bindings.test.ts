/**
 * The Maven and NuGet packages' APIs, checked on the sources jsii-pacmak generates for them: the package names the
 * README gives, and every prop and method of the jsii assembly under the name each language gives it.
 */
import { readJsiiAssembly } from './support/built-package';
import { generatedSources } from './support/generated-sources';

const JAVA_DIR = 'java/src/main/java/io/github/example/cdk/astra/token/secret';
const DOTNET_DIR = 'dotnet/Example.CdkAstraTokenSecret/Example/CdkAstraTokenSecret';
const METHODS = ['grantRead', 'ecsSecret', 'addToFunction', 'metricRotationErrors'];

let sources: ReturnType<typeof generatedSources>;
beforeAll(() => {
  sources = generatedSources(['java', 'dotnet']);
}, 5 * 60_000);
afterAll(() => sources?.cleanUp());

function propNames(): string[] {
  const assembly = readJsiiAssembly();
  const props = assembly.types[`${assembly.name}.AstraTokenSecretProps`];
  if (!props?.properties?.length) throw new Error('The jsii assembly has no AstraTokenSecretProps properties');
  return props.properties.map((p) => p.name);
}

const pascal = (name: string) => name[0].toUpperCase() + name.slice(1);

describe('Java (Maven io.github.example:cdk-astra-token-secret)', () => {
  test('AstraTokenSecret lives in the README\'s package, with a builder taking every prop after scope and id', () => {
    const source = sources.read(`${JAVA_DIR}/AstraTokenSecret.java`);
    expect(source).toMatch(/^package io\.github\.example\.cdk\.astra\.token\.secret;$/m);
    expect(source).toMatch(/public static Builder create\(final software\.constructs\.Construct scope, final java\.lang\.String id\)/);
    for (const prop of propNames()) expect(source).toMatch(new RegExp(`public Builder ${prop}\\(`));
  });

  test('AstraTokenSecret has the methods and the enum of fields', () => {
    const source = sources.read(`${JAVA_DIR}/AstraTokenSecret.java`);
    for (const method of METHODS) expect(source).toMatch(new RegExp(` ${method}\\(`));
    expect(sources.read(`${JAVA_DIR}/AstraTokenField.java`)).toMatch(/ASTRA_KEY,[\s\S]*CLIENT_ID,[\s\S]*CLIENT_SECRET,/);
  });
});

describe('.NET (NuGet Example.CdkAstraTokenSecret)', () => {
  test('AstraTokenSecretProps has every prop as a PascalCase property, in the README\'s namespace', () => {
    const source = sources.read(`${DOTNET_DIR}/AstraTokenSecretProps.cs`);
    expect(source).toMatch(/^namespace Example\.CdkAstraTokenSecret$/m);
    for (const prop of propNames()) expect(source).toMatch(new RegExp(`public [\\w.<>?\\[\\]]+ ${pascal(prop)}\\b`));
  });

  test('AstraTokenSecret has the methods as PascalCase methods', () => {
    const source = sources.read(`${DOTNET_DIR}/AstraTokenSecret.cs`);
    for (const method of METHODS) expect(source).toMatch(new RegExp(`public virtual [\\w.<>?]+ ${pascal(method)}\\(`));
  });
});
