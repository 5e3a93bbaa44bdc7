import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../cli/io.js';
import { main } from '../../cli/main.js';
import {
  type ApiWorld,
  createRequest,
  latestVersion,
  mapping,
  seed,
  startApiWorld,
  waitForGone,
  waitForState,
  waitForTransitionTo,
} from '../api-e2e/support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ORDERS = 300;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `pipes …` in-process against the world's API, stdout and stderr captured; `sleep` moves a fake clock. */
async function pipes(world: ApiWorld, ...argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  let clock = Date.parse('2026-12-06T12:00:00Z');
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: {},
    sleep: async (ms) => {
      clock += ms;
    },
    now: () => new Date(clock),
    isTty: false,
  };
  const code = await main(['--api', world.api.url, ...argv], io);
  return { code, stdout, stderr };
}

/**
 * Every command of `pipes` (cli/) against the real local API: the server `npm start` starts,
 * composed on the simulator, dynalite and the embedded ClickHouse (test/api-e2e/support.ts),
 * with the committed state machines run locally.
 */
describe('the pipes command line against the local API', () => {
  let world: ApiWorld;
  let dir: string;
  let pipeId: string;

  beforeAll(async () => {
    world = await startApiWorld();
    await seed(world, 'shop', 'orders', ORDERS);
    await seed(world, 'shop', 'customers', 40);
    dir = await mkdtemp(join(tmpdir(), 'pipes-cli-'));
  }, 120_000);

  afterAll(async () => {
    await world?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  const file = async (name: string, content: unknown) => {
    const path = join(dir, name);
    await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };

  it('create -f pipe.json starts the pipe; ls lists it; get resolves its name', async () => {
    const request = createRequest(world, 'shop', [mapping('shop', 'orders', 'orders')]);
    const created = await pipes(world, 'create', '-f', await file('pipe.json', request));
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^created: shop \(\S+\) is Provisioning; create started/);
    pipeId = /\((\S+)\)/.exec(created.stdout)![1]!;
    await waitForState(world, pipeId, 'Running');

    const listed = await pipes(world, 'ls');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+NAME\s+STATE\s+UPDATED/);
    expect(listed.stdout).toContain(pipeId);
    expect(listed.stdout).toMatch(/shop\s+Running/);

    const got = await pipes(world, 'get', 'shop');
    expect(got.code).toBe(0);
    expect(got.stdout).toContain(`shop  ${pipeId}`);
    expect(got.stdout).toMatch(/state\s+Running/);
    expect(got.stdout).toMatch(/shop\.orders\s+orders\s+Replicating\s+300 \/ 300/);
  });

  it('--output json prints the API answer as JSON', async () => {
    const listed = await pipes(world, '--output', 'json', 'ls');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).pipes).toEqual([expect.objectContaining({ id: pipeId, name: 'shop' })]);
    const got = await pipes(world, 'get', pipeId, '-o', 'json');
    expect(JSON.parse(got.stdout)).toMatchObject({
      id: pipeId,
      state: 'Running',
      tables: [{ tableKey: 'shop.orders' }],
    });
  });

  it('watch --once prints one frame: state, a progress bar per table, CDC, source, last error', async () => {
    const watched = await pipes(world, 'watch', 'shop', '--once');
    expect(watched.code).toBe(0);
    const frame = watched.stdout;
    expect(frame).toContain(`shop  ${pipeId}  Running`);
    expect(frame).toMatch(
      /shop\.orders → orders\s+Replicating\s+\[█{24}\] 100%\s+300 of 300 docs\s+\d+\/\d+ partitions/,
    );
    expect(frame).toMatch(/^cdc$/m);
    expect(frame).toMatch(/^ {2}lag /m);
    expect(frame).toMatch(/^ {2}events\/s /m);
    expect(frame).toMatch(/^source$/m);
    expect(frame).toContain('last error  none');
    expect(frame).not.toContain('\x1b[');
  });

  it('watch --for refreshes every 2 s until the time is up; with --output json one view per line', async () => {
    const watched = await pipes(world, '-o', 'json', 'watch', pipeId, '--for', '5');
    expect(watched.code).toBe(0);
    const frames = watched.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(frames.map((frame) => frame.at)).toEqual([
      '2026-12-06T12:00:00.000Z',
      '2026-12-06T12:00:02.000Z',
      '2026-12-06T12:00:04.000Z',
    ]);
    expect(frames[2]).toMatchObject({ pipe: { id: pipeId, state: 'Running' } });
  });

  it('pause → Paused; pausing again is refused (409, exit 4); resume → Running', async () => {
    const paused = await pipes(world, 'pause', 'shop');
    expect(paused.code).toBe(0);
    expect(paused.stdout).toMatch(/^pause: shop \(\S+\) is \w+; pause started/);
    await waitForState(world, pipeId, 'Paused');
    expect((await pipes(world, 'get', pipeId)).stdout).toMatch(/state\s+Paused/);

    const again = await pipes(world, 'pause', pipeId);
    expect(again.code).toBe(4);
    expect(again.stderr).toMatch(
      /^CommandRefusedError: .+\n {2}current state: Paused\n {2}allowed commands: .*resume/,
    );

    expect((await pipes(world, 'resume', pipeId)).code).toBe(0);
    await waitForState(world, pipeId, 'Running');
  });

  it('add-tables -f, resync --table, remove-tables --drop', async () => {
    let version = await latestVersion(world, pipeId);
    const mappings = await file('mappings.json', [mapping('shop', 'customers', 'customers')]);
    expect((await pipes(world, 'add-tables', 'shop', '-f', mappings)).code).toBe(0);
    await waitForTransitionTo(world, pipeId, version, 'Running');
    expect((await pipes(world, 'get', pipeId)).stdout).toMatch(
      /shop\.customers\s+customers\s+Replicating\s+40 \/ 40/,
    );

    version = await latestVersion(world, pipeId);
    const resync = await pipes(world, 'resync', pipeId, '--table', 'shop.customers');
    expect(resync.code).toBe(0);
    expect(resync.stdout).toContain('resync started');
    await waitForTransitionTo(world, pipeId, version, 'Running');

    version = await latestVersion(world, pipeId);
    const removed = await pipes(world, 'remove-tables', pipeId, 'shop.customers', '--drop');
    expect(removed.code).toBe(0);
    await waitForTransitionTo(world, pipeId, version, 'Running');
    expect((await pipes(world, 'get', pipeId)).stdout).not.toContain('shop.customers');
  }, 120_000);

  it('history lists the state changes, newest first', async () => {
    const history = await pipes(world, 'history', 'shop');
    expect(history.code).toBe(0);
    const lines = history.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^VERSION\s+AT\s+CHANGE\s+EVENT\s+ACTOR\s+REASON/);
    expect(lines.at(-1)).toMatch(/^1\s+\S+\s+- → Provisioning\s+create\s+local/);
    expect(history.stdout).toContain('Pausing → Paused');
    expect(history.stdout).toContain('Paused → Running');
  });

  it('a create file the API refuses prints each field error and exits 2', async () => {
    const bad = {
      name: 'bad',
      source: { uri: world.rs.uri },
      settings: { replicationMode: 'sometimes', tableMappings: [{}] },
    };
    const run = await pipes(world, 'create', '-f', await file('bad.json', bad));
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^InvalidSettingsError: /);
    expect(lines).toEqual(
      expect.arrayContaining([expect.stringMatching(/^ {2}settings\.replicationMode: /)]),
    );
    expect(lines).toEqual(
      expect.arrayContaining([expect.stringMatching(/^ {2}settings\.tableMappings\[0\]\.\w+: /)]),
    );
  });

  it('a file that is not JSON, an unknown command or option: exit 2 without calling the API', async () => {
    const notJson = await pipes(world, 'create', '-f', await file('broken.json', '{"name": '));
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/broken\.json is not JSON/);
    expect((await pipes(world, 'create', '-f', join(dir, 'missing.json'))).code).toBe(2);
    expect((await pipes(world, 'frobnicate')).code).toBe(2);
    expect((await pipes(world, 'remove-tables', pipeId, 'nodot')).stderr).toContain(
      '<database>.<collection>',
    );
  });

  it('an unknown pipe exits 3 with PipeNotFoundError; an API that is not there exits 5', async () => {
    const missing = await pipes(world, 'get', 'no-such-pipe');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^PipeNotFoundError: /);
    const json = await pipes(world, '-o', 'json', 'pause', 'no-such-pipe');
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { name: 'PipeNotFoundError' } });

    // A port nothing listens on: one the system just handed out and took back.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    let stderr = '';
    const down = await main(['--api', `http://127.0.0.1:${port}`, 'ls'], {
      stdout: () => undefined,
      stderr: (text) => {
        stderr += text;
      },
      env: {},
      isTty: false,
      sleep: async () => undefined,
      now: () => new Date(),
    });
    expect(down).toBe(5);
    expect(stderr).toBe(`cannot reach the API at http://127.0.0.1:${port} (ECONNREFUSED)\n`);
  });

  it('rm deletes the pipe', async () => {
    const removed = await pipes(world, 'rm', 'shop');
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(/^rm: shop \(\S+\) is \w+; delete started/);
    await waitForGone(world, pipeId);
    expect((await pipes(world, 'ls')).stdout.trim()).toBe('no pipes');
  });

  it('bin/pipes.mjs runs the same commands as a process (the npx pipes entry)', async () => {
    const run = promisify(execFile);
    const help = await run(process.execPath, [join(ROOT, 'bin/pipes.mjs'), '--help'], { cwd: ROOT });
    expect(help.stdout).toContain('Usage: pipes');
    const listed = await run(process.execPath, [join(ROOT, 'bin/pipes.mjs'), 'ls', '-o', 'json'], {
      cwd: ROOT,
      env: { ...process.env, PIPES_API: world.api.url },
    });
    expect(JSON.parse(listed.stdout)).toEqual({ pipes: [] });
    const failed = await run(process.execPath, [join(ROOT, 'bin/pipes.mjs'), 'get', 'nope'], {
      cwd: ROOT,
      env: { ...process.env, PIPES_API: world.api.url },
    }).catch((error) => error);
    expect(failed.code).toBe(3);
  }, 60_000);
});
