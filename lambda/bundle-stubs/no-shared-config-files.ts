/**
 * Stands in for node:fs/promises in the bundle: the SDK reads it only for shared config files (~/.aws/config and
 * credentials). The function takes its credentials from Lambda's environment and every client setting from its own
 * code (lambda/clients/secret-store.ts), so a file would change nothing; to the SDK it looks like a missing file.
 */
export function readFile(path: string): Promise<never> {
  return Promise.reject(Object.assign(new Error(`ENOENT: the rotation function reads no shared config file (${path})`), { code: 'ENOENT' }));
}

export default { readFile };
