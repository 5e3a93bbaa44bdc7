/**
 * Every part of the data plane on loopback, as the benchmarks use them: the simulator in a
 * child process, dynalite (the pipe store) in this process, the embedded ClickHouse (chDB) in
 * its own child process. stop() ends everything start() started.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import { MongoClient } from 'mongodb';
import { createClickHouseClient } from '../functions/adapters/clickhouse/client.js';
import { ClickHouseDestination } from '../functions/adapters/clickhouse/destination.js';
import { DynamoPipeStore } from '../functions/adapters/dynamodb/store.js';
import { type EmbeddedClickHouse, startEmbeddedClickHouse } from '../local/clickhouse/launcher.js';
import { type LocalDynamo, startLocalDynamo } from '../local/dynamodb.js';
import {
  cpuSecondsOfPid,
  firstMessage,
  forkTs,
  machineBusySeconds,
  ownCpuSeconds,
  stopChild,
} from './processes.js';

export const DESTINATION_DATABASE = 'bench';
const SIMULATOR_ENTRY = fileURLToPath(new URL('./simulator-child.ts', import.meta.url));

export interface World {
  mongoUri: string;
  mongo: MongoClient;
  simulator: ChildProcess;
  dynamo: LocalDynamo;
  store: DynamoPipeStore;
  clickhouse: EmbeddedClickHouse;
  destination: ClickHouseDestination;
  /** A plain client for the benchmark's own queries (merges in flight, lag timestamps). */
  query: ClickHouseClient;
  /** CPU seconds so far of this process, the simulator and ClickHouse. */
  cpu(): CpuSample;
  stop(): Promise<void>;
}

export interface CpuSample {
  bench: number;
  simulator: number | undefined;
  clickhouse: number | undefined;
  /** Every process of the machine (ours and anyone else's). */
  machine: number | undefined;
}

export function cpuBetween(before: CpuSample, after: CpuSample): CpuSample {
  const diff = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? undefined : b - a;
  return {
    bench: after.bench - before.bench,
    simulator: diff(before.simulator, after.simulator),
    clickhouse: diff(before.clickhouse, after.clickhouse),
    machine: diff(before.machine, after.machine),
  };
}

export async function startWorld(): Promise<World> {
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
    stops.length = 0;
  };
  try {
    const simulator = forkTs(SIMULATOR_ENTRY);
    stops.push(() => stopChild(simulator));
    const { uri } = await firstMessage<{ uri: string }>(simulator, 'the simulator');
    const mongo = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
    stops.push(() => mongo.close());
    await mongo.connect();

    const dynamo = await startLocalDynamo({ tableName: 'PipeStoreBench' });
    stops.push(() => dynamo.stop());
    const store = new DynamoPipeStore({ client: dynamo.newClient(), tableName: dynamo.tableName });

    const dataDir = mkdtempSync(join(tmpdir(), 'bench-clickhouse-'));
    stops.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const clickhouse = await startEmbeddedClickHouse({ dataDir, host: '127.0.0.1', port: 0 });
    stops.push(() => clickhouse.stop());
    const destination = ClickHouseDestination.connect({ url: clickhouse.url });
    stops.push(() => destination.close());
    await destination.ensureDatabase(DESTINATION_DATABASE);
    const query = createClickHouseClient({ url: clickhouse.url });
    stops.push(() => query.close());

    return {
      mongoUri: uri,
      mongo,
      simulator,
      dynamo,
      store,
      clickhouse,
      destination,
      query,
      cpu: () => ({
        bench: ownCpuSeconds(),
        simulator: cpuSecondsOfPid(simulator.pid),
        clickhouse: cpuSecondsOfPid(clickhouse.pid),
        machine: machineBusySeconds(),
      }),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Rows of a SELECT through the plain client. */
export async function selectRows<T>(world: World, sql: string): Promise<T[]> {
  const result = await world.query.query({ query: sql, format: 'JSONEachRow' });
  return result.json<T>();
}

/**
 * Waits (at most `limitMs`) until ClickHouse runs no background merge, so the merges one phase
 * caused do not take CPU from the next phase. Returns the seconds waited.
 */
export async function settleMerges(world: World, limitMs = 30_000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    const [row] = await selectRows<{ n: string }>(world, 'SELECT toString(count()) AS n FROM system.merges');
    if (Number(row?.n ?? 0) === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return (performance.now() - started) / 1000;
}
