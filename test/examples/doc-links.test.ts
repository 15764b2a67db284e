import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');
/** The front door and the pages it links to: every relative link in them must lead somewhere. */
const PAGES = ['README.md', 'examples/README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-');
}

function anchorsIn(file: string): Set<string> {
  const text = fs.readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#+ (.+)$/gm)].map((m) => anchorOf(m[1])));
}

function relativeLinks(page: string): Array<{ target: string; anchor?: string }> {
  const text = fs.readFileSync(path.join(ROOT, page), 'utf8').replace(/```[\s\S]*?```/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1])
    .filter((link) => !/^(https?:|mailto:)/.test(link))
    .map((link) => {
      const [file, anchor] = link.split('#');
      return { target: file ? path.join(path.dirname(page), file) : page, anchor };
    });
}

test.each(PAGES)('every relative link in %s leads to a file, and every anchor to a heading in it', (page) => {
  const broken: string[] = [];
  for (const { target, anchor } of relativeLinks(page)) {
    const file = path.join(ROOT, target);
    if (!fs.existsSync(file)) {
      broken.push(`${target} (missing)`);
    } else if (anchor && (!file.endsWith('.md') || !anchorsIn(file).has(anchor))) {
      broken.push(`${target}#${anchor} (no such heading)`);
    }
  }
  expect(broken).toEqual([]);
});

test('the README is a front door: at most 16 KB, and its first screen holds the pitch, install, the example and the two commands', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(16 * 1024);
  const order = ['## Install', '## Example', '## After cloning', '## Documentation'].map((h) => readme.indexOf(`\n${h}\n`));
  expect(order.every((at) => at > 0)).toBe(true);
  expect([...order].sort((a, b) => a - b)).toEqual(order);
});

test('the design doc\'s map of files lists every file of src/ and lambda/, and nothing that is not there', () => {
  const design = fs.readFileSync(path.join(ROOT, 'docs', 'rotation-design.md'), 'utf8');
  const section = design.slice(design.indexOf('\n## Files\n'), design.indexOf('\n## ', design.indexOf('\n## Files\n') + 1));
  const listed = [...section.matchAll(/^\| `((?:src|lambda)\/[^`]+\.ts)` \|/gm)].map((m) => m[1]).sort();
  const tree = (dir: string): string[] => fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? tree(`${dir}/${e.name}`) : e.name.endsWith('.ts') ? [`${dir}/${e.name}`] : []));
  expect(listed).toEqual([...tree('src'), ...tree('lambda')].sort());
});
