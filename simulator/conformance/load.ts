/** Finds unified-format test files and parses them as Extended JSON, checking `schemaVersion`. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EJSON } from 'bson';
import { isDocument } from './bson-types.js';
import { compareVersions } from './requirements.js';

/** The newest schema version this runner accepts (same major version only). */
export const supportedSchemaVersion = '1.28';

export interface TestCase {
  description: string;
  runOnRequirements?: unknown[];
  skipReason?: string;
  operations: Record<string, unknown>[];
  expectEvents?: Record<string, unknown>[];
  outcome?: CollectionData[];
}

export interface CollectionData {
  collectionName: string;
  databaseName: string;
  createOptions?: Record<string, unknown>;
  documents: Record<string, unknown>[];
}

export interface TestFile {
  description: string;
  schemaVersion: string;
  runOnRequirements?: unknown[];
  createEntities?: Record<string, unknown>[];
  initialData?: CollectionData[];
  tests: TestCase[];
}

/**
 * Every `.json` file under `dir`, recursively, in a stable order, except JSON that is plainly not
 * a test file (neither `schemaVersion` nor `tests`, e.g. the format's JSON schema next to the tests).
 */
export async function listTestFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listTestFiles(path)));
    else if (entry.isFile() && entry.name.endsWith('.json') && (await looksLikeTestFile(path)))
      files.push(path);
  }
  return files;
}

async function looksLikeTestFile(path: string): Promise<boolean> {
  try {
    const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
    return isDocument(parsed) && ('schemaVersion' in parsed || 'tests' in parsed);
  } catch {
    // Unparseable JSON is reported as a failing file rather than silently ignored.
    return true;
  }
}

export function schemaVersionSupported(version: string): boolean {
  const [major] = version.split('.');
  const [supportedMajor] = supportedSchemaVersion.split('.');
  return major === supportedMajor && compareVersions(version, supportedSchemaVersion) <= 0;
}

/** Parses a test file; throws with the file's problem when it is not a usable unified test file. */
export async function loadTestFile(path: string): Promise<TestFile> {
  const parsed: unknown = EJSON.parse(await readFile(path, 'utf8'), { relaxed: true });
  if (!isDocument(parsed)) throw new Error(`${path}: not a JSON object`);
  const { schemaVersion, tests, description } = parsed;
  if (typeof schemaVersion !== 'string') throw new Error(`${path}: missing schemaVersion`);
  if (!Array.isArray(tests)) throw new Error(`${path}: missing tests array`);
  if (typeof description !== 'string') throw new Error(`${path}: missing description`);
  return parsed as unknown as TestFile;
}

/** Test descriptions of a file that cannot be run, so each can be reported as failed. */
export async function peekTestDescriptions(path: string): Promise<string[]> {
  try {
    const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
    const tests = isDocument(parsed) && Array.isArray(parsed.tests) ? parsed.tests : [];
    return tests.map((test, index) =>
      isDocument(test) && typeof test.description === 'string' ? test.description : `test #${index}`,
    );
  } catch {
    return [];
  }
}
