import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoPipeStore } from '../../functions/adapters/dynamodb/store.js';
import { CDC_LEASE } from '../../functions/ports/pipe-store.js';
import { ExecutionJournal } from '../../local/stepfunctions/journal.js';
import { type ReplicaSetHandle, startReplicaSet } from '../../simulator/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX_CLI = createRequire(import.meta.url).resolve('tsx/cli');
const DOCUMENTS = 1_500;

/** One `npm start` process and everything it printed. */
class LocalRuntime {
  output = '';
  readonly child: ChildProcess;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [TSX_CLI, 'local/start.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (chunk) => {
      this.output += String(chunk);
    });
    this.child.stderr?.on('data', (chunk) => {
      this.output += String(chunk);
    });
  }

  async line(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.output.match(pattern);
      if (match) return match;
      if (this.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`no line matching ${pattern}; output so far:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async interrupt(): Promise<number | null> {
    const exited = new Promise<number | null>((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.kill('SIGINT');
    return exited;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

function storeAt(endpoint: string): { store: DynamoPipeStore; client: DynamoDBClient } {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  return { store: new DynamoPipeStore({ client, tableName: 'Pipes' }), client };
}

describe('npm start resumes an execution that was in flight when it was stopped', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'npm-start-restart-'));
  const runtimes: LocalRuntime[] = [];
  const clients: DynamoDBClient[] = [];
  let rs: ReplicaSetHandle;

  beforeAll(async () => {
    rs = await startReplicaSet({ noopIntervalMs: 0 });
    const mongo = new MongoClient(rs.uri, { serverSelectionTimeoutMS: 5_000 });
    try {
      await mongo.connect();
      await mongo
        .db('shop')
        .collection<{ _id: number; n: number }>('orders')
        .insertMany(Array.from({ length: DOCUMENTS }, (_, index) => ({ _id: index, n: index })));
    } finally {
      await mongo.close();
    }
  }, 60_000);

  afterAll(async () => {
    for (const runtime of runtimes) runtime.kill();
    for (const client of clients) client.destroy();
    await rs?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = () => {
    const runtime = new LocalRuntime([
      '--data-dir',
      dataDir,
      '--api-port',
      '0',
      '--clickhouse-port',
      '0',
      '--mongodb-uri',
      rs.uri,
      '--collections',
      'shop.orders',
      // Scheduled CDC: a run holds the lease only while it drains, so the test can take it.
      '--sync-interval',
      '60',
    ]);
    runtimes.push(runtime);
    return runtime;
  };

  it('a pause waiting on a CDC batch: Ctrl-C, start again, it continues in its drain poll and ends Paused', async () => {
    const first = start();
    const [, endpoint] = await first.line(/^dynamodb: (http:\/\/\S+) /m, 90_000);
    const [, apiUrl] = await first.line(/^api: (http:\/\/127\.0\.0\.1:\d+)$/m, 60_000);
    await first.line(/^pipe local: Snapshot → Running/m, 120_000);
    const pipes = (await (await fetch(`${apiUrl}/pipes`)).json()) as {
      pipes: { id: string; name: string }[];
    };
    const pipeId = pipes.pipes.find((pipe) => pipe.name === 'local')?.id as string;

    // A CDC batch that does not let go of the lease: the pause waits for it.
    const before = storeAt(endpoint as string);
    clients.push(before.client);
    let lease: { fence: number } | undefined;
    for (let attempt = 0; !lease; attempt += 1) {
      lease = await before.store.acquireLease(pipeId, CDC_LEASE, 'held-by-test', 600_000).catch((error) => {
        if (attempt > 100) throw error;
        return undefined;
      });
      if (!lease) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const pause = await fetch(`${apiUrl}/pipes/${pipeId}/state`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ command: 'pause' }),
    });
    expect(pause.status).toBe(202);
    await first.line(/^pipe local: Running → Pausing/m, 30_000);
    // Ctrl-C once the journal shows the pause past DisableSchedule, in its drain poll (bounded).
    const journal = new ExecutionJournal(join(dataDir, 'executions'));
    const inDrainPoll = async () =>
      (await journal.list()).entries.some(
        (entry) =>
          entry.operation === 'pause' && ['CheckDrained', 'IsDrained', 'WaitForDrain'].includes(entry.state),
      );
    for (let poll = 0; poll < 300 && !(await inDrainPoll()); poll += 1)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await inDrainPoll()).toBe(true);

    // Ctrl-C does not wait for the drain poll (up to 15 minutes): the execution is journaled.
    const stoppedAt = Date.now();
    expect(await first.interrupt()).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(15_000);
    expect(first.output).toMatch(/^stopped$/m);
    expect(readdirSync(join(dataDir, 'executions')).filter((name) => name.endsWith('.json'))).toHaveLength(1);

    const second = start();
    const [, endpointAfter] = await second.line(/^dynamodb: (http:\/\/\S+) /m, 90_000);
    await second.line(
      /^pipe local: resuming pause at (CheckDrained|IsDrained|WaitForDrain) after a restart$/m,
      60_000,
    );
    expect(second.output).not.toMatch(/did not survive|no execution journaled/);
    const after = storeAt(endpointAfter as string);
    clients.push(after.client);
    expect((await after.store.getPipe(pipeId)).state).toBe('Pausing');
    await after.store.releaseLease(pipeId, CDC_LEASE, 'held-by-test', (lease as { fence: number }).fence);
    await second.line(/^pipe local: Pausing → Paused/m, 30_000);
    expect((await after.store.getPipe(pipeId)).state).toBe('Paused');
    const history = (await after.store.listHistory(pipeId)).items.map((item) => item.to).reverse();
    expect(history).toEqual(['Provisioning', 'Setup', 'Snapshot', 'Running', 'Pausing', 'Paused']);

    const [, clickhouseUrl] = await second.line(/^clickhouse: (http:\/\/127\.0\.0\.1:\d+)$/m, 1_000);
    const count = await fetch(
      `${clickhouseUrl}/?query=${encodeURIComponent('SELECT count() FROM local.orders FINAL WHERE _peerdb_is_deleted = 0')}`,
    );
    expect((await count.text()).trim()).toBe(String(DOCUMENTS));
    expect(readdirSync(join(dataDir, 'executions')).filter((name) => name.endsWith('.json'))).toEqual([]);
    expect(await second.interrupt()).toBe(0);
  }, 300_000);
});
