import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../cli/io.js';
import { main } from '../../cli/main.js';
import { type ApiWorld, createRequest, mapping, seed, startApiWorld } from '../api-e2e/support.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function pipes(world: ApiWorld, ...argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: {},
    sleep: async () => undefined,
    now: () => new Date('2026-12-06T12:00:00Z'),
    isTty: false,
  };
  const code = await main(['--api', world.api.url, ...argv], io);
  return { code, stdout, stderr };
}

/** `pipes check` against the real local API (its pre-flight probe reaches the simulator and the embedded ClickHouse). */
describe('pipes check -f pipe.json', () => {
  let world: ApiWorld;
  let dir: string;

  beforeAll(async () => {
    world = await startApiWorld();
    await seed(world, 'shop', 'orders', 10);
    dir = await mkdtemp(join(tmpdir(), 'pipes-check-'));
  }, 120_000);

  afterAll(async () => {
    await world?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  const file = async (name: string, content: unknown) => {
    const path = join(dir, name);
    await writeFile(path, JSON.stringify(content));
    return path;
  };

  it('prints a line per check and the verdict, and exits 0 when nothing failed', async () => {
    const request = createRequest(world, 'shop', [mapping('shop', 'orders', 'orders')]);
    const run = await pipes(world, 'check', '-f', await file('good.json', request));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^✓ source\.topology {2}replica set rs0, primary 127\.0\.0\.1:\d+$/m);
    expect(run.stdout).toMatch(/^✓ source\.collections {2}found shop\.orders$/m);
    expect(run.stdout).toMatch(
      /^✓ destination\.connection {2}logged in to http:\/\/127\.0\.0\.1:\d+, ClickHouse /m,
    );
    expect(run.stdout).toMatch(/^✓ tables\.ownership {2}api_e2e\.orders: free for this pipe$/m);
    expect(run.stdout).toMatch(/^verdict: (passed|warned) \(0 failed, \d+ warned\)$/m);
    // Nothing was created.
    expect(JSON.parse((await pipes(world, '-o', 'json', 'ls')).stdout).pipes).toEqual([]);
  });

  it('marks a failed check ✗ with its advice below, and exits 4 (refused)', async () => {
    const request = createRequest(world, 'shop', [mapping('shop', 'nothing', 'nothing')]);
    const run = await pipes(world, 'check', '-f', await file('missing.json', request));
    expect(run.code).toBe(4);
    expect(run.stdout).toMatch(/^✗ source\.collections {2}collection shop\.nothing does not exist$/m);
    expect(run.stdout).toMatch(
      /^✗ source\.collections.*\n {4}→ check the sourceDatabaseName and sourceCollection/m,
    );
    expect(run.stdout).toMatch(/^verdict: failed \(1 failed, \d+ warned\)$/m);
    expect(run.stderr).toContain('pre-flight failed');
  });

  it('marks a warning !', async () => {
    const member = world.rs.members.find((candidate) => candidate.name !== world.rs.primary)?.name as string;
    world.rs.setMemberState(member, 'RECOVERING');
    try {
      const request = createRequest(world, 'shop', [mapping('shop', 'orders', 'orders')]);
      const run = await pipes(world, 'check', '-f', await file('recovering.json', request));
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^! source\\.members {2}.*${member} RECOVERING`, 'm'));
    } finally {
      world.rs.setMemberState(member, 'SECONDARY');
    }
  });

  it('--output json prints the report as the API answered it; the exit code still says failed', async () => {
    const request = createRequest(world, 'shop', [mapping('shop', 'nothing', 'nothing')]);
    const run = await pipes(world, '-o', 'json', 'check', '-f', await file('missing.json', request));
    expect(run.code).toBe(4);
    const report = JSON.parse(run.stdout);
    expect(report.verdict).toBe('failed');
    expect(report.checks).toContainEqual(
      expect.objectContaining({ id: 'source.collections', status: 'failed' }),
    );
  });

  it('prints the field errors of a bad request and exits 2', async () => {
    const request = createRequest(world, 'shop', []);
    const run = await pipes(world, 'check', '-f', await file('empty.json', request));
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^InvalidSettingsError: /);
    expect(run.stderr).toMatch(/^ {2}tableMappings: /m);
  });
});
