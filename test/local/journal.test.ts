import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExecutionJournal } from '../../local/stepfunctions/journal.js';

const root = mkdtempSync(join(tmpdir(), 'journal-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const entry = (executionId: string, state: string, startedAt = '2024-01-01T00:00:00.000Z') => ({
  executionId,
  operation: 'create' as const,
  pipeId: 'pipe-1',
  state,
  input: { pipeId: 'pipe-1', requestId: 'r-1', setup: { tables: ['shop.orders'] } },
  startedAt,
});

describe('the execution journal', () => {
  it('is empty when its directory does not exist yet', async () => {
    const journal = new ExecutionJournal(join(root, 'missing'));
    await expect(journal.list()).resolves.toEqual({ entries: [], unreadable: [] });
    await expect(journal.read('local:create:pipe-1:x')).resolves.toBeNull();
  });

  it('writes an entry, reads it back, replaces it with the next state and removes it at the end', async () => {
    const journal = new ExecutionJournal(join(root, 'one'));
    const id = 'local:create:pipe-1:0b0c';
    await journal.write(entry(id, 'Provision'));
    expect(await journal.read(id)).toMatchObject({ version: 1, ...entry(id, 'Provision') });
    await journal.write(entry(id, 'RunSnapshot'));
    const { entries, unreadable } = await journal.list();
    expect(unreadable).toEqual([]);
    expect(entries).toEqual([expect.objectContaining({ executionId: id, state: 'RunSnapshot' })]);
    expect(entries[0]?.input).toEqual(entry(id, 'RunSnapshot').input);
    // One file per execution, named after its id, and no temp file left behind.
    expect(readdirSync(journal.dir)).toEqual([`${encodeURIComponent(id)}.json`]);
    await journal.remove(id);
    await journal.remove(id);
    expect((await journal.list()).entries).toEqual([]);
    expect(await journal.read(id)).toBeNull();
  });

  it('lists entries oldest first', async () => {
    const journal = new ExecutionJournal(join(root, 'order'));
    await journal.write(entry('local:pause:b', 'CheckDrained', '2024-01-02T00:00:00.000Z'));
    await journal.write(entry('local:create:a', 'Provision', '2024-01-03T00:00:00.000Z'));
    await journal.write(entry('local:resume:c', 'Resume', '2024-01-01T00:00:00.000Z'));
    expect((await journal.list()).entries.map((item) => item.executionId)).toEqual([
      'local:resume:c',
      'local:pause:b',
      'local:create:a',
    ]);
  });

  it('ignores (and cleans) a temp file torn by a crash mid-write, and reports an unreadable entry', async () => {
    const journal = new ExecutionJournal(join(root, 'torn'));
    const id = 'local:create:pipe-1:torn';
    await journal.write(entry(id, 'SetUpDestination'));
    // A crash between the temp file's write and its rename: the entry before it stands.
    const torn = `${journal.fileOf(id)}.5f0e.tmp`;
    writeFileSync(torn, '{"version":1,"executionId":"local:create:pipe-1:torn","state":"RunSn');
    const bad = join(journal.dir, 'garbage.json');
    writeFileSync(bad, 'not json');
    const { entries, unreadable } = await journal.list();
    expect(entries).toEqual([expect.objectContaining({ executionId: id, state: 'SetUpDestination' })]);
    expect(unreadable).toEqual([bad]);
    expect(readdirSync(journal.dir).sort()).toEqual(
      [`${encodeURIComponent(id)}.json`, 'garbage.json'].sort(),
    );
  });
});
