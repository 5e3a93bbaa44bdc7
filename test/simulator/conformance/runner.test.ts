import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatOutcome, runConformance, summaryLine } from '../../../simulator/conformance/runner.js';

/** A small unified-format file written for this test, covering pass, fail and skip paths. */
const handWrittenFile = {
  description: 'runner self-test',
  schemaVersion: '1.7',
  createEntities: [
    { client: { id: 'client0', observeEvents: ['commandStartedEvent'] } },
    { database: { id: 'database0', client: 'client0', databaseName: 'runner-self-test' } },
  ],
  tests: [
    {
      description: 'ping passes',
      operations: [
        {
          name: 'runCommand',
          object: 'database0',
          arguments: { commandName: 'ping', command: { ping: 1 } },
          expectResult: { ok: 1 },
        },
      ],
      expectEvents: [
        {
          client: 'client0',
          events: [
            {
              commandStartedEvent: {
                command: { ping: 1 },
                commandName: 'ping',
                databaseName: 'runner-self-test',
              },
            },
          ],
        },
      ],
    },
    {
      description: 'wrong expected result fails',
      operations: [
        {
          name: 'runCommand',
          object: 'database0',
          arguments: { commandName: 'ping', command: { ping: 1 } },
          expectResult: { ok: 0 },
        },
      ],
    },
    {
      description: 'unknown operation fails',
      operations: [{ name: 'teleport', object: 'database0', arguments: {} }],
    },
    {
      description: 'fail point applies within its test',
      operations: [
        {
          name: 'failPoint',
          object: 'testRunner',
          arguments: {
            client: 'client0',
            failPoint: {
              configureFailPoint: 'failCommand',
              mode: 'alwaysOn',
              data: { failCommands: ['ping'], errorCode: 2 },
            },
          },
        },
        {
          name: 'runCommand',
          object: 'database0',
          arguments: { commandName: 'ping', command: { ping: 1 } },
          expectError: { errorCode: 2, isClientError: false },
        },
      ],
    },
    {
      description: 'fail point is off in the next test',
      operations: [
        { name: 'runCommand', object: 'database0', arguments: { commandName: 'ping', command: { ping: 1 } } },
      ],
    },
    { description: 'skipped by skipReason', skipReason: 'not today', operations: [] },
    {
      description: 'skipped by version',
      runOnRequirements: [{ maxServerVersion: '4.0.99' }],
      operations: [],
    },
  ],
};

/** A test that waits forever for a change that never comes, then one that must still run. */
const hangingFile = {
  description: 'runner timeout self-test',
  schemaVersion: '1.0',
  createEntities: [
    { client: { id: 'client0' } },
    { database: { id: 'database0', client: 'client0', databaseName: 'runner-timeout-test' } },
    { collection: { id: 'collection0', database: 'database0', collectionName: 'quiet' } },
  ],
  initialData: [{ databaseName: 'runner-timeout-test', collectionName: 'quiet', documents: [] }],
  tests: [
    {
      description: 'waits for a change that never comes',
      operations: [
        {
          name: 'createChangeStream',
          object: 'collection0',
          arguments: { pipeline: [] },
          saveResultAsEntity: 'cs',
        },
        { name: 'iterateUntilDocumentOrError', object: 'cs' },
      ],
    },
    {
      description: 'runs after the timeout',
      operations: [
        {
          name: 'runCommand',
          object: 'database0',
          arguments: { commandName: 'ping', command: { ping: 1 } },
          expectResult: { ok: 1 },
        },
      ],
    },
  ],
};

describe('conformance runner against the simulator', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conformance-'));
    await writeFile(join(dir, 'self-test.json'), JSON.stringify(handWrittenFile));
    await writeFile(join(dir, 'future.json'), JSON.stringify({ ...handWrittenFile, schemaVersion: '1.99' }));
    await writeFile(join(dir, 'hanging.json'), JSON.stringify(hangingFile));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports pass, fail and skip with reasons, and the summary line', async () => {
    const lines: string[] = [];
    const summary = await runConformance({ dir, filter: 'self-test', log: (line) => lines.push(line) });
    const status = Object.fromEntries(summary.results.map((result) => [result.description, result]));
    expect(status['ping passes']?.status).toBe('PASS');
    expect(status['wrong expected result fails']?.status).toBe('FAIL');
    expect(status['wrong expected result fails']?.reason).toContain('$.ok');
    expect(status['unknown operation fails']?.status).toBe('FAIL');
    expect(status['unknown operation fails']?.reason).toContain('unsupported operation: teleport');
    expect(status['fail point applies within its test']?.status).toBe('PASS');
    expect(status['fail point is off in the next test']?.status).toBe('PASS');
    expect(status['skipped by skipReason']?.status).toBe('SKIP');
    expect(status['skipped by version']?.reason).toContain('maxServerVersion 4.0.99');
    expect(summaryLine(summary)).toBe('conformance: 3 passed, 2 failed, 2 skipped');
    expect(lines).toEqual(summary.results.map(formatOutcome));
  });

  it('fails a test that outlives its timeout and goes on with the next one', async () => {
    const summary = await runConformance({ dir, filter: 'hanging.json', testTimeoutMs: 5_000 });
    expect(summary.results.map((result) => result.status)).toEqual(['FAIL', 'PASS']);
    expect(summary.results[0]?.reason).toContain('timed out after 5000 ms');
  });

  it('fails every test of a file with an unsupported schemaVersion', async () => {
    const summary = await runConformance({ dir, filter: 'future.json' });
    expect(summary.failed).toBe(7);
    expect(summary.results[0]?.reason).toContain('schemaVersion 1.99');
  });
});
