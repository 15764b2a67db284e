// Exits 0 when test/lambda-node/node_modules lacks the pinned Node of this machine (the install task then runs), else 1.
const { existsSync, readFileSync } = require('node:fs');
const path = require('node:path');

const pinned = require('./package.json').optionalDependencies;
const name = `node-${process.platform}-${process.arch}`;
const manifest = path.join(__dirname, 'node_modules', name, 'package.json');
const installed = existsSync(manifest) ? JSON.parse(readFileSync(manifest, 'utf8')).version : undefined;
process.exit(pinned[name] !== undefined && installed !== pinned[name] ? 0 : 1);
