import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  const abs = join(ROOT, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs).flatMap((entry) => {
    const path = join(abs, entry);
    if (statSync(path).isDirectory()) return sourceFiles(relative(ROOT, path));
    return path.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((match) => match[1] ?? match[2] ?? '');
}

/** Packages with no I/O that the pure core may use: zod is the one settings schema. */
const PURE_PACKAGES = ['zod'];

function violations(dir: string, isForbidden: (specifier: string, file: string) => boolean): string[] {
  return sourceFiles(dir).flatMap((file) =>
    importsOf(file)
      .filter((specifier) => isForbidden(specifier, file))
      .map((specifier) => `${relative(ROOT, file)} imports ${specifier}`),
  );
}

describe('repository layout', () => {
  it.each(['package.json', 'tsconfig.json', 'functions', 'infra', 'statemachines', 'test', 'cdk.json'])(
    'has the required top-level entry %s',
    (entry) => {
      expect(existsSync(join(ROOT, entry))).toBe(true);
    },
  );
});

describe('import boundaries', () => {
  it('keeps the core pure: only relative imports inside functions/core, node: built-ins and zod', () => {
    const found = violations('functions/core', (specifier, file) => {
      if (specifier.startsWith('node:') || PURE_PACKAGES.includes(specifier)) return false;
      if (!specifier.startsWith('.')) return true;
      return !join(file, '..', specifier).startsWith(join(ROOT, 'functions', 'core'));
    });
    expect(found).toEqual([]);
  });

  it('never lets runtime code import the simulator or the local runtime', () => {
    const found = violations('functions', (specifier, file) => {
      if (!specifier.startsWith('.')) return false;
      const target = relative(ROOT, join(file, '..', specifier));
      return target.startsWith('simulator') || target.startsWith('local');
    });
    expect(found).toEqual([]);
  });

  it('finds the imports it checks (the scanner itself works)', () => {
    expect(sourceFiles('functions/core').length).toBeGreaterThan(0);
    expect(importsOf(join(ROOT, 'functions/core/lifecycle.ts'))).toContain('./errors.js');
  });
});
