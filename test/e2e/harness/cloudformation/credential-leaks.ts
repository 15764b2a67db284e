import type { AstraEmulatorProcess } from '../astra-emulator-process';

/** Every credential the emulator issued, searched in every captured log line, CloudFormation answer and invocation error. */
export async function leaks(astra: AstraEmulatorProcess, texts: string[]): Promise<string[]> {
  const credentials = await astra.credentialStrings();
  const found: string[] = [];
  for (const text of texts) {
    const leaked = credentials.find((c) => text.includes(c));
    if (leaked) found.push(`credential ${leaked.slice(0, 4)}… in: ${text.split(leaked).join('<LEAKED>').slice(0, 300)}`);
    if (/Bearer\s+\S|AstraCS:[A-Za-z0-9]{24}:[0-9a-f]|["']?authorization["']?\s*[:=]/i.test(text)) found.push(`token/header in: ${text.slice(0, 300)}`);
  }
  return found;
}
