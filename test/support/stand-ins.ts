import { MongoClient } from 'mongodb';
import { ClickHouseDestination } from '../../functions/adapters/clickhouse/destination.js';
import type { DeploymentOptions } from '../../simulator/deployment.js';
import { type ReplicaSetHandle, startReplicaSet } from '../../simulator/index.js';
import { startTestClickHouse, type TestClickHouse } from './clickhouse.js';
import { type LocalDynamo, startDynalite } from './dynalite.js';

/** Every stand-in on loopback: a simulator replica set, dynalite and the embedded ClickHouse. */
export interface StandIns {
  rs: ReplicaSetHandle;
  /** A driver client of the replica set (the tests' own, not a pipe's). */
  mongo: MongoClient;
  dynamo: LocalDynamo;
  clickhouse: TestClickHouse;
  destination: ClickHouseDestination;
  /** Adds a clean-up step; stop() runs them last-added first. */
  onStop(step: () => Promise<unknown>): void;
  /** Stops everything started, never throwing: a failing step does not keep the others running. */
  stop(): Promise<void>;
}

/** `replicaSet`: options of the simulator replica set (e.g. a small oplog). */
export async function startStandIns(replicaSet: DeploymentOptions = {}): Promise<StandIns> {
  const steps: (() => Promise<unknown>)[] = [];
  const onStop = (step: () => Promise<unknown>) => {
    steps.push(step);
  };
  const stop = async () => {
    for (const step of steps.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    const rs = await startReplicaSet({ noopIntervalMs: 0, ...replicaSet });
    onStop(() => rs.stop());
    // Amazon DocumentDB refuses retryable writes: its clients connect with retryWrites=false.
    const mongo = new MongoClient(rs.uri, {
      serverSelectionTimeoutMS: 5_000,
      ...(replicaSet.flavor === 'documentdb' ? { retryWrites: false } : {}),
    });
    onStop(() => mongo.close());
    await mongo.connect();
    const dynamo = await startDynalite();
    onStop(() => dynamo.stop());
    const clickhouse = await startTestClickHouse();
    onStop(() => clickhouse.remove());
    const destination = ClickHouseDestination.connect({ url: clickhouse.url });
    onStop(() => destination.close());
    return { rs, mongo, dynamo, clickhouse, destination, onStop, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Builds on the stand-ins, stopping them if the build fails. */
export async function buildOnStandIns<T>(
  build: (standIns: StandIns) => Promise<T>,
  replicaSet: DeploymentOptions = {},
): Promise<T> {
  const standIns = await startStandIns(replicaSet);
  try {
    return await build(standIns);
  } catch (error) {
    await standIns.stop();
    throw error;
  }
}
