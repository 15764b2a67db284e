/**
 * Runs `turn(0)` to `turn(count - 1)` in order, up to `width` at once; a turn that `goesAlone` starts once every turn
 * before it is over, and the next starts once it is. A turn that fails starts no more, and the first failure is thrown
 * once every running turn is over: nothing of this invocation runs on behind its answer.
 */
export async function inTurns(count: number, width: number, goesAlone: (at: number) => boolean, turn: (at: number) => Promise<void>): Promise<void> {
  const running = new Set<Promise<void>>();
  const failures: unknown[] = [];
  const start = (at: number) => {
    const started: Promise<void> = turn(at).catch((error) => {
      failures.push(error);
    }).finally(() => running.delete(started));
    running.add(started);
  };
  for (let at = 0; at < count && failures.length === 0; at++) {
    if (goesAlone(at)) {
      await Promise.all(running);
      if (failures.length > 0) break;
      start(at);
      await Promise.all(running);
      continue;
    }
    while (running.size >= width) await Promise.race(running);
    if (failures.length === 0) start(at);
  }
  await Promise.all(running);
  if (failures.length > 0) throw failures[0];
}
