import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

describe('repository layout', () => {
  it.each(['package.json', 'tsconfig.json', 'functions', 'infra', 'statemachines', 'test', 'cdk.json'])(
    'has the required top-level entry %s',
    (entry) => {
      expect(existsSync(join(ROOT, entry))).toBe(true);
    },
  );
});

/**
 * The layer rules live in one place, .dependency-cruiser.cjs (docs/architecture.md, "Layers"):
 * `npm run lint` checks them, and so does this test, with the same configuration.
 */
describe('import boundaries', () => {
  let result: ICruiseResult;

  beforeAll(async () => {
    const options = await extractDepcruiseOptions(join(ROOT, '.dependency-cruiser.cjs'));
    const output = await cruise(
      ['functions', 'local', 'infra', 'cli'],
      { ...options, baseDir: ROOT },
      undefined,
      {
        tsConfig: extractTSConfig(join(ROOT, 'tsconfig.json')),
      },
    );
    result = output.output as ICruiseResult;
  }, 60_000);

  it('breaks no layer rule', () => {
    const found = result.summary.violations.map(
      (violation) => `${violation.rule.name}: ${violation.from} → ${violation.to}`,
    );
    expect(found).toEqual([]);
  });

  it('has a rule for each layer and cruises the code it guards (the check itself works)', () => {
    const rules = (result.summary.ruleSetUsed?.forbidden ?? []).map((rule) => rule.name);
    expect(rules).toEqual(
      expect.arrayContaining([
        'core-is-pure',
        'ports-import-only-core',
        'adapters-never-import-engines-handlers-api',
        'engines-import-only-core-and-ports',
        'api-imports-core-ports-engines-hono',
        'functions-never-import-outside-functions',
        'infra-imports-only-shared-names',
        'no-circular-in-functions',
        'cli-talks-only-http',
        'nothing-imports-the-cli',
      ]),
    );
    const sources = result.modules.map((module) => module.source);
    expect(sources).toContain('functions/core/lifecycle.ts');
    expect(sources).toContain('cli/main.ts');
    expect(sources.filter((source) => source.startsWith('functions/')).length).toBeGreaterThan(100);
  });
});
