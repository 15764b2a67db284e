import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');

function codeLines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('//') && !l.startsWith('import ') && !l.startsWith('export '));
}

test('the README\'s TypeScript example is examples/app.ts, which the demo and the tests synthesize', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const example = /```ts\n([\s\S]*?)```/.exec(readme)![1];
  expect(example).toContain("from 'cdk-astra-token-secret'");
  expect(codeLines(example)).toEqual(codeLines(fs.readFileSync(path.join(ROOT, 'examples', 'app.ts'), 'utf8')));
});
