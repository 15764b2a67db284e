import * as path from 'node:path';

/**
 * DataStax's spec as copied into the repo (provenance in its info.description and in test/fixtures/README.md). A file of
 * its own: the validator is loaded from a bundle elsewhere, where its own folder is not this one.
 */
export const SPEC_PATH = path.resolve(__dirname, '..', '..', 'fixtures', 'devops-api-tokens.openapi.yaml');
