// Jest's own order needs the timings of an earlier run; a fresh clone (as CI has) has none, and jest then orders by
// file size, which started the soak and the kill matrices last and left one worker running them alone. Until jest has
// timed a file itself, this takes the seconds it took in a full `npx projen test` on the 2-core machine (2026-12-02),
// so that the longest files start first. A file not listed counts as short.
const Sequencer = require('@jest/test-sequencer').default;
const path = require('node:path');

const MEASURED_SECONDS = {
  'test/e2e/soak.test.ts': 93,
  'test/e2e/lifecycle-scale.test.ts': 106,
  'test/e2e/lifecycle.test.ts': 70,
  'test/e2e/lifecycle-forged-during-phases.test.ts': 21,
  'test/e2e/fan-out.test.ts': 64,
  'test/consumer/fresh-app.test.ts': 49,
  'test/e2e/kill-matrix-self.test.ts': 43,
  'test/e2e/kill-matrix-admin.test.ts': 42,
  'test/e2e/astra-faults.test.ts': 40,
  'test/e2e/policies-and-concurrency.test.ts': 21,
  'test/examples/demo.test.ts': 16,
  'test/e2e/lost-answers.test.ts': 13,
  'test/e2e/step-repetition.test.ts': 8,
  'test/e2e/happy-path.test.ts': 8,
  'test/e2e/revocation-authority.test.ts': 12,
  'test/e2e/bad-input.test.ts': 7,
  'test/e2e/binding.test.ts': 5,
};
const SHORT_SECONDS = 1;

class SlowFirstSequencer extends Sequencer {
  /** Milliseconds, as jest keeps them. */
  time(test) {
    const timedByJest = super.time(test);
    if (timedByJest !== undefined) return timedByJest;
    const relative = path.relative(test.context.config.rootDir, test.path).split(path.sep).join('/');
    return (MEASURED_SECONDS[relative] ?? SHORT_SECONDS) * 1000;
  }
}

module.exports = SlowFirstSequencer;
