import * as path from 'node:path';
import { SPEC_PATH } from './spec-path';
import type { SpecValidator } from './spec-validator';
import { childEntry } from '../../e2e/harness/child-entry';

/**
 * The spec validator for a Jest worker: Jest's module runtime cannot load openapi-backend's ES-module-only dependency
 * (@apidevtools/json-schema-ref-parser 16), but it can load the validator bundled with its dependencies into one
 * CommonJS file. This is what spec-checks the unit tests' requests as the e2e emulator's are.
 */
export async function bundledSpecValidator(): Promise<SpecValidator> {
  const bundle = childEntry(path.join(__dirname, 'spec-validator.ts'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(bundle) as typeof import('./spec-validator');
  return loaded.SpecValidator.create(SPEC_PATH);
}
