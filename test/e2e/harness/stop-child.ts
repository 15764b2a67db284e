import { ChildProcess } from 'node:child_process';

/**
 * Ends a harness child process: `ask` (SIGTERM by default) first, SIGKILL if it is still there after `graceMs`, so that
 * a hung child never holds a test file's afterAll.
 */
export async function stopChild(child: ChildProcess, ask: () => void = () => child.kill('SIGTERM'), graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  ask();
  const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(killer);
}
