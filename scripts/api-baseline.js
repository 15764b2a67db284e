// Makes the built assembly (.jsii) the API baseline that `api:compat` compares the next builds with, and clears the
// declared breaking changes. Run on a release, after compile.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const baseline = path.join(root, '.api-baseline');
const pkg = require(path.join(root, 'package.json'));
// What jsii-diff reads beside the assembly: the name, and the dependencies it loads the referenced types from.
const manifest = { name: pkg.name, version: pkg.version, jsii: pkg.jsii, peerDependencies: pkg.peerDependencies, dependencies: pkg.dependencies, types: pkg.types };
fs.mkdirSync(baseline, { recursive: true });
fs.copyFileSync(path.join(root, '.jsii'), path.join(baseline, '.jsii'));
fs.writeFileSync(path.join(baseline, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
fs.writeFileSync(path.join(baseline, 'allowed-breaking-changes.txt'), '');
console.log(`.api-baseline/ now holds the API of ${pkg.name}@${pkg.version}`);
