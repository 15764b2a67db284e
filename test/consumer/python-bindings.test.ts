/**
 * The Python package's API, checked on the sources jsii-pacmak generates (the wheel cannot be
 * imported here: jsii and aws-cdk-lib for Python are on no reachable index).
 */
import * as fs from 'fs';
import * as path from 'path';
import { readJsiiAssembly } from './support/built-package';
import { definedNames, generatedPythonModule, initKeywords, pythonClass, toSnakeCase } from './support/python-sources';

// What the README's Python example uses; a rename here breaks users' code.
const README_KEYWORDS = [
  'role_id', 'admin_secret', 'secret_name', 'automatically_after', 'previous_token_revocation',
  'astra_environment', 'vpc', 'secrets_manager_endpoint',
];
const README_MEMBERS = ['grant_read', 'secret', 'secret_arn', 'secret_name', 'rotation_function', 'rotation_schedule'];
const README_ENUM_MEMBERS: Record<string, string[]> = {
  AstraEnvironment: ['PROD', 'DEV', 'TEST'],
  PreviousTokenRevocation: ['AT_NEXT_ROTATION', 'IMMEDIATELY'],
};

let source: string;
let cleanUp: () => void = () => undefined;

beforeAll(() => {
  ({ source, cleanUp } = generatedPythonModule());
}, 5 * 60_000);

afterAll(() => cleanUp());

function propsFromAssembly(): string[] {
  const assembly = readJsiiAssembly();
  const props = assembly.types[`${assembly.name}.AstraTokenSecretProps`];
  if (!props?.properties?.length) throw new Error('The jsii assembly has no AstraTokenSecretProps properties');
  return props.properties.map((p) => toSnakeCase(p.name));
}

test('snake_case conversion matches jsii\'s on the awkward cases', () => {
  expect(toSnakeCase('roleId')).toBe('role_id');
  expect(toSnakeCase('secretsManagerEndpoint')).toBe('secrets_manager_endpoint');
  expect(toSnakeCase('astraApiUrl')).toBe('astra_api_url');
});

test('AstraTokenSecret takes every prop of the jsii assembly as a snake_case keyword after scope and id', () => {
  const keywords = initKeywords(pythonClass(source, 'AstraTokenSecret'));
  expect([...keywords].sort()).toEqual([...propsFromAssembly()].sort());
  expect(keywords).toEqual(expect.arrayContaining(README_KEYWORDS));
  expect(keywords[0]).toBe('role_id');
});

test('AstraTokenSecretProps has the same keywords and a property for each', () => {
  const props = pythonClass(source, 'AstraTokenSecretProps');
  const expected = propsFromAssembly();
  expect([...initKeywords(props)].sort()).toEqual([...expected].sort());
  expect(definedNames(props)).toEqual(expect.arrayContaining(expected));
});

test('AstraTokenSecret exposes the members the README uses', () => {
  expect(definedNames(pythonClass(source, 'AstraTokenSecret'))).toEqual(expect.arrayContaining(README_MEMBERS));
});

test.each(Object.entries(README_ENUM_MEMBERS))('enum %s keeps its member names', (name, members) => {
  const enumClass = pythonClass(source, name);
  for (const member of members) {
    expect(enumClass).toMatch(new RegExp(`^ {4}${member} = "${member}"`, 'm'));
  }
});

test('the module exports its public types', () => {
  const all = /^__all__ = \[([\s\S]*?)\]/m.exec(source)?.[1] ?? '';
  for (const name of ['AstraTokenSecret', 'AstraTokenSecretProps', 'AstraEnvironment', 'PreviousTokenRevocation']) {
    expect(all).toContain(`"${name}"`);
  }
});

test('every keyword the README\'s Python example passes to AstraTokenSecret exists in the generated module', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const example = /```python\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const calls = example.split('AstraTokenSecret(').slice(1).map((call) => call.split(')\n')[0]);
  const used = [...new Set(calls.flatMap((call) => [...call.matchAll(/(\w+)=/g)].map((m) => m[1])))];
  expect(calls.length).toBe(1);
  expect(used).toEqual(expect.arrayContaining(['role_id', 'admin_secret']));
  expect(initKeywords(pythonClass(source, 'AstraTokenSecret'))).toEqual(expect.arrayContaining(used));
});
