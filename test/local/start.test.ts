import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX_CLI = createRequire(import.meta.url).resolve('tsx/cli');
const dataDir = mkdtempSync(join(tmpdir(), 'npm-start-'));
let child: ChildProcess | undefined;
let output = '';

function waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = output.match(pattern);
      if (match) {
        clearInterval(timer);
        clearTimeout(deadline);
        resolve(match);
      }
    };
    const timer = setInterval(check, 100);
    const deadline = setTimeout(() => {
      clearInterval(timer);
      reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output so far:\n${output}`));
    }, timeoutMs);
    check();
  });
}

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start (the local runtime on the embedded default)', () => {
  it('brings the demo pipe to Running through the API and the state machines, with the data queryable, then stops on SIGINT', async () => {
    child = spawn(
      process.execPath,
      [
        TSX_CLI,
        'local/start.ts',
        '--data-dir',
        dataDir,
        '--api-port',
        '0',
        '--clickhouse-port',
        '0',
        '--demo-write-interval',
        '0',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (chunk) => {
      output += String(chunk);
    });
    child.stderr?.on('data', (chunk) => {
      output += String(chunk);
    });

    const [, clickhouseUrl] = await waitForLine(/^clickhouse: (http:\/\/127\.0\.0\.1:\d+)$/m, 90_000);
    const [, apiUrl] = await waitForLine(/^api: (http:\/\/127\.0\.0\.1:\d+)$/m, 60_000);
    await waitForLine(/^demo source: mongodb:\/\/127\.0\.0\.1:\d+/m, 60_000);
    await waitForLine(/^pipe demo: Snapshot → Running/m, 120_000);

    const count = await fetch(
      `${clickhouseUrl}/?query=${encodeURIComponent('SELECT count() FROM shop.orders FINAL WHERE _peerdb_is_deleted = 0')}`,
    );
    expect((await count.text()).trim()).toBe('3000');

    const pipes = (await (await fetch(`${apiUrl}/pipes`)).json()) as {
      pipes: { name: string; state: string }[];
    };
    expect(pipes.pipes).toEqual([expect.objectContaining({ name: 'demo', state: 'Running' })]);

    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toMatch(/^stopped$/m);
  }, 240_000);
});
