import type { MongoClient } from 'mongodb';
import type { ClickHouseDestination } from '../../functions/adapters/clickhouse/destination.js';
import { DynamoPipeStore } from '../../functions/adapters/dynamodb/store.js';
import { cdcBatchTask } from '../../functions/handlers/cdc-batch.js';
import { connectWith, type Runtime } from '../../functions/handlers/runtime.js';
import { systemClock } from '../../functions/ports/clock.js';
import { localApiDeps } from '../../local/api/deps.js';
import { type LocalApiServer, startLocalApiServer } from '../../local/api/server.js';
import { LocalCdcSchedule } from '../../local/cdc/schedule.js';
import { type ExecutionResult, LocalStateMachines } from '../../local/stepfunctions/runner.js';
import type { DeploymentOptions } from '../../simulator/deployment.js';
import type { ReplicaSetHandle } from '../../simulator/index.js';
import type { TestClickHouse } from '../support/clickhouse.js';
import { compareCollection, equalComparison } from '../support/compare.js';
import type { LocalDynamo } from '../support/dynalite.js';
import { silentLog } from '../support/log.js';
import { buildOnStandIns } from '../support/stand-ins.js';

/** The ClickHouse database every pipe of these tests writes to. */
export const DATABASE = 'api_e2e';

/**
 * The stand-ins composed as `npm start` composes them (local/start.ts): simulator, dynalite,
 * embedded ClickHouse, the ASL machines run locally, and the HTTP API in front of them.
 */
export interface ApiWorld {
  rs: ReplicaSetHandle;
  mongo: MongoClient;
  dynamo: LocalDynamo;
  clickhouse: TestClickHouse;
  destination: ClickHouseDestination;
  scheduler: LocalCdcSchedule;
  runtime: Runtime;
  machines: LocalStateMachines;
  api: LocalApiServer;
  /** Executions that ended FAILED, for a readable failure message when a wait times out. */
  failures: ExecutionResult[];
  stop(): Promise<void>;
}

/** `replicaSet`: options of the simulator replica set (e.g. `flavor: 'documentdb'`). */
export function startApiWorld(replicaSet: DeploymentOptions = {}): Promise<ApiWorld> {
  return buildOnStandIns(async ({ rs, mongo, dynamo, clickhouse, destination, onStop, stop }) => {
    const store = new DynamoPipeStore({ client: dynamo.newClient(), tableName: dynamo.tableName });
    const scheduler = new LocalCdcSchedule();
    const runtime: Runtime = {
      store,
      scheduler,
      clock: systemClock,
      connect: connectWith({ mongoUri: rs.uri, clickhouse: { url: clickhouse.url }, log: silentLog }),
    };
    const failures: ExecutionResult[] = [];
    const machines = new LocalStateMachines({
      // Through the world's runtime at each call, so a test that wraps its `connect` sees the
      // machines' Tasks too (the runner keeps a copy of the runtime it is given).
      runtime: { ...runtime, connect: (pipe, settings) => runtime.connect(pipe, settings) },
      retryIntervalMs: 0,
      waitMs: 5,
      onFinished: (execution) => {
        if (execution.status === 'FAILED') failures.push(execution);
      },
    });
    // Executions still running when the test ends must finish before their stand-ins go.
    onStop(() => machines.idle());
    const api = await startLocalApiServer({
      deps: localApiDeps({
        store,
        starter: machines,
        defaultDestination: { url: clickhouse.url, database: DATABASE, username: 'default', password: '' },
        log: () => undefined,
      }),
    });
    onStop(() => api.stop());
    return { rs, mongo, dynamo, clickhouse, destination, scheduler, runtime, machines, api, failures, stop };
  }, replicaSet);
}

export interface HttpAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies are checked by the assertions.
  body: any;
}

/** One real HTTP request to the local API server. */
export async function http(
  world: ApiWorld,
  method: string,
  path: string,
  body?: unknown,
): Promise<HttpAnswer> {
  const response = await fetch(`${world.api.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text) };
}

const POLL_MS = 50;
const POLL_LIMIT_MS = 60_000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `GET /pipes/{id}` until the pipe is in `state` (bounded). Stops early on Failed when
 * Failed is not the wanted state, with the pipe's lastError in the message.
 */
export async function waitForState(world: ApiWorld, pipeId: string, state: string) {
  const deadline = Date.now() + POLL_LIMIT_MS;
  let last: HttpAnswer | null = null;
  while (Date.now() < deadline) {
    last = await http(world, 'GET', `/pipes/${pipeId}`);
    if (last.status === 200 && last.body.state === state) return last.body;
    if (last.status === 200 && last.body.state === 'Failed')
      throw new Error(
        `pipe ${pipeId} Failed while waiting for ${state}: ${JSON.stringify(last.body.lastError)}`,
      );
    await pause(POLL_MS);
  }
  throw new Error(
    `pipe ${pipeId} not ${state} within ${POLL_LIMIT_MS} ms; last answer ${JSON.stringify(last)}; ` +
      `failed executions ${JSON.stringify(world.failures)}`,
  );
}

/** The version of the pipe's newest history entry (`GET /pipes/{id}/history`, newest first). */
export async function latestVersion(world: ApiWorld, pipeId: string): Promise<number> {
  const answer = await http(world, 'GET', `/pipes/${pipeId}/history?limit=1`);
  if (answer.status !== 200) throw new Error(`history of ${pipeId}: ${answer.status}`);
  return answer.body.history[0]?.version ?? 0;
}

/**
 * For commands that leave the pipe where it was (Running → … → Running): polls the history
 * until a state entered after `afterVersion` is `state`, then returns the states entered since,
 * oldest first. Stops early on Failed unless Failed is wanted.
 */
export async function waitForTransitionTo(
  world: ApiWorld,
  pipeId: string,
  afterVersion: number,
  state: string,
): Promise<string[]> {
  const deadline = Date.now() + POLL_LIMIT_MS;
  let entered: string[] = [];
  while (Date.now() < deadline) {
    const answer = await http(world, 'GET', `/pipes/${pipeId}/history?limit=50`);
    const history = answer.body.history as { version: number; to: string }[];
    entered = history
      .filter((entry) => entry.version > afterVersion)
      .map((entry) => entry.to)
      .reverse();
    if (entered.at(-1) === state) return entered;
    if (entered.at(-1) === 'Failed' && state !== 'Failed') {
      const pipe = await http(world, 'GET', `/pipes/${pipeId}`);
      throw new Error(
        `pipe ${pipeId} Failed while waiting for ${state}: ${JSON.stringify(pipe.body.lastError)}`,
      );
    }
    await pause(POLL_MS);
  }
  throw new Error(
    `pipe ${pipeId} did not enter ${state} within ${POLL_LIMIT_MS} ms (entered ${entered.join(' → ')}); ` +
      `failed executions ${JSON.stringify(world.failures)}`,
  );
}

/** Polls `GET /pipes/{id}` until it answers 404 (bounded). */
export async function waitForGone(world: ApiWorld, pipeId: string): Promise<void> {
  const deadline = Date.now() + POLL_LIMIT_MS;
  while (Date.now() < deadline) {
    if ((await http(world, 'GET', `/pipes/${pipeId}`)).status === 404) return;
    await pause(POLL_MS);
  }
  throw new Error(`pipe ${pipeId} still answers after ${POLL_LIMIT_MS} ms`);
}

/** What the local runtime passes as the Lambda time left: a minute, plenty to catch up here. */
const CDC_RUN_MS = 60_000;
const CDC_MAX_RUNS = 10;

/**
 * The local CDC schedule, run by hand: the cdc-batch handler for the pipe, while its schedule
 * is enabled, until a run ends caught up (bounded). Returns the events applied.
 */
export async function pumpCdc(world: ApiWorld, pipeId: string): Promise<number> {
  await waitForSchedule(world, pipeId);
  let events = 0;
  for (let run = 0; run < CDC_MAX_RUNS; run += 1) {
    const deadline = Date.now() + CDC_RUN_MS;
    const result = await cdcBatchTask.invoke(
      world.runtime,
      { pipeId },
      { getRemainingTimeInMillis: () => deadline - Date.now() },
    );
    if (result.status !== 'ran') throw new Error(`CDC run skipped: ${result.reason}`);
    events += result.events;
    if (result.endedBecause === 'caught-up') return events;
  }
  throw new Error(`CDC for ${pipeId} did not catch up within ${CDC_MAX_RUNS} runs`);
}

/**
 * A machine enters Running in one Task and enables the schedule in the next, so a pipe can show
 * Running a moment before the local interval loop would pick it up: wait for that (bounded).
 */
async function waitForSchedule(world: ApiWorld, pipeId: string): Promise<void> {
  const deadline = Date.now() + POLL_LIMIT_MS;
  while (!world.scheduler.enabledPipes().includes(pipeId)) {
    if (Date.now() > deadline)
      throw new Error(`pipe ${pipeId}: CDC schedule not enabled within ${POLL_LIMIT_MS} ms`);
    await pause(POLL_MS);
  }
}

/** MongoDB vs ClickHouse FINAL live rows of `table`, by rendered `_id` and canonical hash. */
export async function compareTable(world: ApiWorld, db: string, coll: string, table: string) {
  const { table: _named, ...comparison } = await compareCollection(
    world.mongo,
    world.destination,
    { db, coll },
    { database: DATABASE, table },
  );
  return comparison;
}

/** What an equal comparison looks like for a table of `count` documents. */
export function equalWith(count: number) {
  const { table: _named, ...equal } = equalComparison('', count);
  return equal;
}

/** A query over ClickHouse's HTTP interface, as a reader outside the product would send it. */
export async function clickhouseQuery(world: ApiWorld, sql: string): Promise<string> {
  const response = await fetch(`${world.clickhouse.url}/?query=${encodeURIComponent(sql)}`);
  const text = await response.text();
  if (!response.ok) throw new Error(`ClickHouse ${response.status}: ${text.trim()}`);
  return text.trim();
}

export async function seed(
  world: ApiWorld,
  db: string,
  coll: string,
  count: number,
  offset = 0,
): Promise<void> {
  const documents = Array.from({ length: count }, (_, index) => ({
    _id: offset + index,
    name: `item ${offset + index}`,
    tags: ['a', 'b'],
    nested: { n: offset + index, at: new Date(1_700_000_000_000 + index) },
  }));
  await world.mongo
    .db(db)
    .collection<{ _id: number }>(coll)
    .insertMany(documents as never[]);
}

export function mapping(db: string, coll: string, targetTable: string) {
  return { sourceDatabaseName: db, sourceCollection: coll, targetTable };
}

/** The minimal create request, with the destination named explicitly. */
export function createRequest(world: ApiWorld, name: string, mappings: object[], settings: object = {}) {
  return {
    name,
    source: { uri: world.rs.uri },
    destination: { url: world.clickhouse.url, database: DATABASE, username: 'default', password: '' },
    settings: { replicationMode: 'cdc', tableMappings: mappings, ...settings },
  };
}
