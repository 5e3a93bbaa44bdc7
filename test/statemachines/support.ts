import type { MongoClient } from 'mongodb';
import type { ClickHouseDestination } from '../../functions/adapters/clickhouse/destination.js';
import { DynamoPipeStore } from '../../functions/adapters/dynamodb/store.js';
import type { PipeSettingsInput } from '../../functions/core/settings.js';
import { connectWith, type Runtime } from '../../functions/handlers/runtime.js';
import { systemClock } from '../../functions/ports/clock.js';
import type { LifecycleOperation, OperationInput } from '../../functions/ports/lifecycle.js';
import { CDC_LEASE } from '../../functions/ports/pipe-store.js';
import { localCdcInvoker } from '../../local/cdc/invoke.js';
import { LocalCdcSchedule } from '../../local/cdc/schedule.js';
import { type ExecutionResult, LocalStateMachines } from '../../local/stepfunctions/runner.js';
import type { DeploymentOptions } from '../../simulator/deployment.js';
import type { ReplicaSetHandle } from '../../simulator/index.js';
import type { TestClickHouse } from '../support/clickhouse.js';
import { compareCollection } from '../support/compare.js';
import type { LocalDynamo } from '../support/dynalite.js';
import { silentLog } from '../support/log.js';
import { buildOnStandIns } from '../support/stand-ins.js';

export const DATABASE = 'sm';

type FaultTarget = 'store' | 'destination';

/**
 * Errors to throw once from a named adapter method, the next time a handler calls it: before
 * the call (nothing happened) or after it (the write landed but the caller saw an error, as
 * when a Lambda times out after its write).
 */
export class FaultPlan {
  private readonly pending: { target: FaultTarget; method: string; error: Error; after: boolean }[] = [];
  readonly thrown: string[] = [];

  failOnce(target: FaultTarget, method: string, error: Error): void {
    this.pending.push({ target, method, error, after: false });
  }

  failOnceAfterCall(target: FaultTarget, method: string, error: Error): void {
    this.pending.push({ target, method, error, after: true });
  }

  take(target: FaultTarget, method: string): { error: Error; after: boolean } | undefined {
    const index = this.pending.findIndex((fault) => fault.target === target && fault.method === method);
    if (index < 0) return undefined;
    const [fault] = this.pending.splice(index, 1);
    this.thrown.push(`${target}.${method}`);
    return fault;
  }
}

function withFaults<T extends object>(target: T, kind: FaultTarget, plan: FaultPlan): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const fault = plan.take(kind, String(property));
        if (fault && !fault.after) throw fault.error;
        const result = await (value as (...inner: unknown[]) => unknown).apply(object, args);
        if (fault) throw fault.error;
        return result;
      };
    },
  });
}

/** Simulator, dynalite and embedded ClickHouse on loopback, and the handlers' runtime over them. */
export interface MachineWorld {
  rs: ReplicaSetHandle;
  mongo: MongoClient;
  dynamo: LocalDynamo;
  store: DynamoPipeStore;
  clickhouse: TestClickHouse;
  destination: ClickHouseDestination;
  scheduler: LocalCdcSchedule;
  faults: FaultPlan;
  runtime: Runtime;
  machines: LocalStateMachines;
  stop(): Promise<void>;
}

export interface MachineWorldOptions {
  /** Run CDC as npm start does: the local schedule fires and hand-overs start runs at once. */
  cdc?: { minuteMs: number };
  /** Options of the simulator replica set (e.g. a small oplog). */
  replicaSet?: DeploymentOptions;
  /** The pipes' MongoDB client names itself so (fail points can aim at it, not at the test's client). */
  appName?: string;
}

export function startMachineWorld(options: MachineWorldOptions = {}): Promise<MachineWorld> {
  return buildOnStandIns(async ({ rs, mongo, dynamo, clickhouse, destination, stop }) => {
    const store = new DynamoPipeStore({ client: dynamo.newClient(), tableName: dynamo.tableName });
    const faults = new FaultPlan();
    const scheduler = new LocalCdcSchedule(options.cdc ? { minuteMs: options.cdc.minuteMs } : {});
    const connect = connectWith({
      mongoUri: options.appName
        ? `${rs.uri}${rs.uri.includes('?') ? '&' : '?'}appName=${options.appName}`
        : rs.uri,
      clickhouse: { url: clickhouse.url },
      log: silentLog,
    });
    const runtime: Runtime = {
      store: withFaults(store, 'store', faults),
      scheduler,
      ...(options.cdc ? { cdcTrigger: scheduler } : {}),
      createRules: {
        allowPlainSecrets: true,
        defaultDestination: { url: clickhouse.url, database: DATABASE, username: 'default', password: '' },
      },
      clock: systemClock,
      connect: async (pipe, settings) => {
        const connections = await connect(pipe, settings);
        return { ...connections, destination: withFaults(connections.destination, 'destination', faults) };
      },
    };
    const machines = new LocalStateMachines({ runtime, retryIntervalMs: 0, waitMs: 5 });
    const world = {
      rs,
      mongo,
      dynamo,
      store,
      clickhouse,
      destination,
      scheduler,
      faults,
      runtime,
      machines,
      stop,
    };
    if (!options.cdc) return world;
    scheduler.start(localCdcInvoker(runtime));
    const stopCdc = async () => {
      for (const pipeId of scheduler.enabledPipes())
        await store.revokeLease(pipeId, CDC_LEASE, 'test ends').catch(() => undefined);
      await scheduler.stop();
    };
    return {
      ...world,
      stop: async () => {
        await stopCdc();
        await stop();
      },
    };
  }, options.replicaSet);
}

let sequence = 0;

/**
 * A pipe as the API leaves it: the record in Provisioning, nothing else yet. Each collection goes
 * to `<db>_<coll>` unless it names its `table`: a table belongs to one pipe, so a second pipe on
 * the same collection in one world needs a table of its own.
 */
export async function newPipe(
  world: MachineWorld,
  collections: { db: string; coll: string; table?: string }[],
  settings: Partial<PipeSettingsInput> = {},
): Promise<string> {
  sequence += 1;
  const { pipe } = await world.store.createPipe({
    name: `sm-${sequence}-${process.pid}`,
    settings: {
      tableMappings: collections.map(({ db, coll, table }) => ({
        sourceDatabaseName: db,
        sourceCollection: coll,
        targetTable: table ?? `${db}_${coll}`,
      })),
      ...settings,
    },
    source: {},
    destination: { database: DATABASE },
    actor: 'test',
  });
  return pipe.id;
}

export function run(
  world: MachineWorld,
  operation: LifecycleOperation,
  pipeId: string,
  extra: Partial<OperationInput> = {},
): Promise<ExecutionResult> {
  sequence += 1;
  return world.machines.run(operation, {
    pipeId,
    expectedState: null,
    requestedBy: 'test',
    requestId: `request-${sequence}`,
    ...extra,
  });
}

export interface SeedDocument {
  _id: number;
  name: string;
  tags: string[];
}

export async function seed(
  world: MachineWorld,
  db: string,
  coll: string,
  count: number,
  offset = 0,
): Promise<void> {
  const documents = Array.from({ length: count }, (_, index) => ({
    _id: offset + index,
    name: `item ${offset + index}`,
    tags: ['a', 'b'],
  }));
  await world.mongo.db(db).collection<SeedDocument>(coll).insertMany(documents);
}

export function liveRows(world: MachineWorld, db: string, coll: string): Promise<number> {
  return world.destination.countRows({ database: DATABASE, table: `${db}_${coll}` }, { liveOnly: true });
}

/**
 * Makes every `find` of the pipes' own client (the snapshot's reads; CDC reads with aggregate
 * and getMore) wait `blockMs`, through the server's failCommand fail point; null turns it off.
 */
export async function blockPipeFinds(
  world: MachineWorld,
  appName: string,
  blockMs: number | null,
): Promise<void> {
  await world.mongo.db('admin').command(
    blockMs === null
      ? { configureFailPoint: 'failCommand', mode: 'off' }
      : {
          configureFailPoint: 'failCommand',
          mode: 'alwaysOn',
          data: { failCommands: ['find'], blockConnection: true, blockTimeMS: blockMs, appName },
        },
  );
}

/** MongoDB vs the ClickHouse live rows: ids missing or extra, and documents that differ. */
export async function compareWithSource(world: MachineWorld, db: string, coll: string) {
  const { clickhouseCount, missing, extra, different } = await compareCollection(
    world.mongo,
    world.destination,
    { db, coll },
    { database: DATABASE, table: `${db}_${coll}` },
  );
  return { count: clickhouseCount, missing, extra, different };
}
