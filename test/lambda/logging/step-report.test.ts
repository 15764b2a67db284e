import { Redactor } from '../../../lambda/logging/redact';
import { writeLogLine } from '../../../lambda/logging/step-report';

describe('writeLogLine', () => {
  afterEach(() => jest.restoreAllMocks());

  test.each([
    ['INFO', 'info'],
    ['WARN', 'warn'],
    ['ERROR', 'error'],
  ] as const)('writes a %s line with console.%s, so that Lambda\'s JSON log format records its level', (level, method) => {
    const calls: Record<string, string[]> = { info: [], warn: [], error: [], log: [] };
    for (const m of ['info', 'warn', 'error', 'log'] as const) {
      jest.spyOn(console, m).mockImplementation((line: string) => { calls[m].push(line); });
    }
    const redactor = new Redactor();
    redactor.add('AstraCS:abcdefghijklmnopqrstuvwx:' + 'f'.repeat(64));
    writeLogLine({ level, step: 'createSecret', note: 'AstraCS:abcdefghijklmnopqrstuvwx:' + 'f'.repeat(64) }, redactor);
    expect(calls[method]).toHaveLength(1);
    expect(Object.values(calls).flat()).toHaveLength(1);
    expect(JSON.parse(calls[method][0])).toMatchObject({ level, step: 'createSecret' });
    expect(calls[method][0]).not.toContain('f'.repeat(64));
  });
});
