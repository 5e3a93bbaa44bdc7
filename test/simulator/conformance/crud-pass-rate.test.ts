import { describe, expect, it } from 'vitest';
import { passRate, runConformance, summaryLine } from '../../../simulator/conformance/runner.js';
import { hasShared, sharedPath } from '../../support/shared.js';

const crudDir = sharedPath('mongodb-spec-tests', 'crud');
const specTestsPresent = hasShared('mongodb-spec-tests', 'crud');

describe('CRUD spec tests through the real driver against the simulator', () => {
  it.skipIf(!specTestsPresent)(
    `passes at least 90% of the CRUD spec tests (needs ${crudDir})`,
    async () => {
      const summary = await runConformance({ dir: crudDir });
      const failures = summary.results
        .filter((result) => result.status === 'FAIL')
        .map((r) => `${r.file} › ${r.description}: ${r.reason}`);
      expect(summary.passed + summary.failed, summaryLine(summary)).toBeGreaterThan(0);
      expect(passRate(summary), `${summaryLine(summary)}\n${failures.join('\n')}`).toBeGreaterThanOrEqual(
        0.9,
      );
    },
    300_000,
  );
});
