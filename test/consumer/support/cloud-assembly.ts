import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export type CfnTemplate = { Resources: Record<string, { Type: string; Properties?: Record<string, any>; Metadata?: Record<string, any> }> };

export function readTemplate(cdkOut: string, stack: string): CfnTemplate {
  return JSON.parse(fs.readFileSync(path.join(cdkOut, `${stack}.template.json`), 'utf8'));
}

/**
 * The folder in the cloud assembly that a Lambda function's code comes from: the asset whose
 * object key the function's Code points at.
 */
export function functionAssetDir(cdkOut: string, stack: string, code: { S3Key?: unknown }): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(cdkOut, `${stack}.assets.json`), 'utf8'));
  type FileAsset = { source: { path: string; packaging?: string }; destinations: Record<string, { objectKey: string }> };
  const files = manifest.files as Record<string, FileAsset>;
  const asset = Object.values(files).find((file) => Object.values(file.destinations).some((d) => d.objectKey === code.S3Key));
  if (!asset) throw new Error(`No file asset in ${stack}.assets.json has the object key ${JSON.stringify(code.S3Key)}`);
  return path.join(cdkOut, asset.source.path);
}

/** Loads a file of the folder as Lambda's Node.js runtime would (in a separate process) and names the type of an export. */
export function typeOfExportedHandler(assetDir: string, file = 'index.js', name = 'handler'): string {
  return execFileSync(process.execPath, ['-e', 'process.stdout.write(typeof require(process.argv[1])[process.argv[2]])', path.join(assetDir, file), name], {
    encoding: 'utf8', env: { PATH: process.env.PATH ?? '' },
  });
}

export interface ValidationViolation {
  readonly ruleName: string;
  readonly description: string;
  readonly violatingConstructs: Array<{ constructPath: string }>;
}

/** What the policy-validation plugins (cdk-nag 3) reported, one line per rule and construct. */
export function readValidationFindings(cdkOut: string): string[] {
  const file = path.join(cdkOut, 'validation-report.json');
  if (!fs.existsSync(file)) return [];
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as { pluginReports: Array<{ pluginName: string; violations: ValidationViolation[] }> };
  return report.pluginReports.flatMap((plugin) => plugin.violations.flatMap((violation) =>
    violation.violatingConstructs.map((c) => `${violation.ruleName} on ${c.constructPath}: ${violation.description}`)));
}

/** The rules acknowledged on each construct path (Validations.acknowledge metadata), with their reasons. */
export function readAcknowledgements(cdkOut: string, stack: string): Record<string, Record<string, string>> {
  const metadata = JSON.parse(fs.readFileSync(path.join(cdkOut, `${stack}.metadata.json`), 'utf8')) as Record<string, Array<{ type: string; data: unknown }>>;
  const result: Record<string, Record<string, string>> = {};
  for (const [constructPath, entries] of Object.entries(metadata)) {
    for (const entry of entries.filter((e) => e.type === 'aws:cdk:acknowledged-rules')) {
      result[constructPath] = { ...result[constructPath], ...(entry.data as Record<string, string>) };
    }
  }
  return result;
}
