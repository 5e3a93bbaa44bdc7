import { createClient } from '@clickhouse/client';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoPipeStore } from '../../functions/adapters/dynamodb/store.js';
import type { ApiDeps } from '../../functions/api/deps.js';
import type { SecretOwners } from '../../functions/ports/secrets.js';
import { localApiDeps } from '../../local/api/deps.js';
import { type LocalApiServer, startLocalApiServer } from '../../local/api/server.js';
import { CommandError, type CommandHandler } from '../../simulator/contract.js';
import { type ReplicaSetHandle, startReplicaSet } from '../../simulator/index.js';
import { startTestClickHouse, type TestClickHouse } from '../support/clickhouse.js';
import { type LocalDynamo, startDynalite } from '../support/dynalite.js';
import { call, RecordingStarter } from './fixtures.js';
import { validatorFor } from './openapi-schema.js';

const CALLER = 'arn:aws:iam::123456789012:user/analyst';
const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop-AbCdEf';
const USER = 'pipes';
const PASSWORD = 'right-password';
const DATABASE = 'preflight_db';

let rs: ReplicaSetHandle;
let standalone: ReplicaSetHandle;
let dynamo: LocalDynamo;
let clickhouse: TestClickHouse;
let store: DynamoPipeStore;
const servers: LocalApiServer[] = [];

/** The local API as `npm start` builds it (its pre-flight probe included), with `change` applied to its deps. */
async function serve(change: (deps: ApiDeps) => ApiDeps = (deps) => deps): Promise<string> {
  const deps = localApiDeps({
    store,
    starter: new RecordingStarter(),
    defaultDestination: { url: clickhouse.url, database: DATABASE, username: USER, password: PASSWORD },
    log: () => undefined,
  });
  const server = await startLocalApiServer({ deps: change(deps), actor: CALLER });
  servers.push(server);
  return server.url;
}

/**
 * Makes a one-member simulator answer as a standalone mongod does where it differs from a
 * replica-set member (the simulator has no standalone mode): `hello` names no set and no hosts,
 * `replSetGetStatus` is refused (76), and so is a change stream (40573).
 */
function answerAsStandalone(handle: ReplicaSetHandle): string {
  const registry = handle.deployment.registry;
  const lookup = registry.lookup.bind(registry);
  const refuse = (code: number, codeName: string, message: string) => () => {
    throw new CommandError(code, codeName, message);
  };
  registry.lookup = (name: string): CommandHandler | undefined => {
    const handler = lookup(name);
    if (handler === undefined) return undefined;
    if (name === 'hello' || name === 'isMaster' || name === 'ismaster')
      return async (ctx) => {
        const { hosts, setName, setVersion, primary, me, electionId, secondary, lastWrite, ...reply } =
          await handler(ctx);
        return reply;
      };
    if (name === 'replSetGetStatus') return refuse(76, 'NoReplicationEnabled', 'not running with --replSet');
    if (name === 'aggregate')
      return (ctx) =>
        JSON.stringify(ctx.body.pipeline ?? []).includes('$changeStream')
          ? refuse(40573, 'Location40573', 'The $changeStream stage is only supported on replica sets')()
          : handler(ctx);
    return handler;
  };
  const member = handle.members[0];
  if (!member) throw new Error('the standalone has no member');
  return `mongodb://127.0.0.1:${member.port}/?directConnection=true`;
}

beforeAll(async () => {
  rs = await startReplicaSet({ noopIntervalMs: 0 });
  standalone = await startReplicaSet({ members: 1, noopIntervalMs: 0 });
  await standalone.waitForPrimary();
  dynamo = await startDynalite();
  store = new DynamoPipeStore({ client: dynamo.newClient(), tableName: dynamo.tableName });
  clickhouse = await startTestClickHouse({ user: USER, password: PASSWORD });
  for (const handle of [rs, standalone]) {
    const client = new MongoClient(handle.uri);
    try {
      await client.db('shop').collection('orders').insertOne({ total: 1 });
      await client.db('shop').collection('users').insertOne({ name: 'a' });
    } finally {
      await client.close();
    }
  }
}, 120_000);

afterAll(async () => {
  for (const server of servers) await server.stop();
  await clickhouse?.remove();
  await dynamo?.stop();
  await standalone?.stop();
  await rs?.stop();
});

const mapping = (collection: string, targetTable = collection) => ({
  sourceDatabaseName: 'shop',
  sourceCollection: collection,
  targetTable,
});

function body(overrides: Record<string, unknown> = {}) {
  return {
    source: { uri: rs.uri },
    destination: { url: clickhouse.url, database: DATABASE, username: USER, password: PASSWORD },
    tableMappings: [mapping('orders')],
    ...overrides,
  };
}

interface Check {
  id: string;
  status: string;
  message: string;
  advice: string | null;
}

async function preflight(url: string, request: unknown) {
  const answer = await call(url, 'POST', '/preflight', { body: request });
  if (answer.status === 200) {
    // Every report is the one the OpenAPI document describes.
    const validate = validatorFor('#/components/schemas/PreflightReport');
    expect(validate(answer.body), JSON.stringify(validate.errors)).toBe(true);
  }
  const checks = (answer.body?.checks ?? []) as Check[];
  const check = (id: string) => {
    const found = checks.find((candidate) => candidate.id === id);
    if (!found) throw new Error(`no check ${id} in ${JSON.stringify(answer.body)}`);
    return found;
  };
  return { ...answer, checks, check };
}

async function databaseExists(name: string): Promise<boolean> {
  const client = createClient({ url: clickhouse.url, username: USER, password: PASSWORD });
  try {
    const result = await client.query({
      query: 'SELECT count() AS n FROM system.databases WHERE name = {name:String}',
      query_params: { name },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ n: string }>();
    return Number(row?.n) > 0;
  } finally {
    await client.close();
  }
}

describe('POST /preflight', () => {
  it('passes a good source and destination, and creates nothing', async () => {
    const url = await serve();
    const answer = await preflight(url, body({ tableMappings: [mapping('orders'), mapping('users')] }));
    expect(answer.status).toBe(200);
    expect(answer.body.verdict).not.toBe('failed');
    expect(answer.checks.map((check) => check.id)).toEqual([
      'source.connection',
      'source.topology',
      'source.members',
      'source.oplog',
      'source.privileges',
      'source.changeStream',
      'source.collections',
      'destination.connection',
      'destination.rights',
      'tables.ownership',
    ]);
    for (const id of ['source.topology', 'source.members', 'source.changeStream', 'source.collections'])
      expect(answer.check(id).status, id).toBe('passed');
    expect(answer.check('source.topology').message).toContain(`replica set ${rs.setName}`);
    expect(answer.check('source.collections').message).toBe('found shop.orders, shop.users');
    expect(answer.check('destination.connection').status).toBe('passed');
    expect(answer.check('destination.rights')).toMatchObject({
      status: 'passed',
      message: expect.stringContaining(`${DATABASE} (to be created)`),
    });
    expect(answer.check('tables.ownership').status).toBe('passed');
    // Nothing was made: no database in ClickHouse, no pipe in the store.
    expect(await databaseExists(DATABASE)).toBe(false);
    expect((await call(url, 'GET', '/pipes')).body.pipes).toEqual([]);
  });

  it('fails a standalone server: no replica set, no change stream', async () => {
    const url = await serve();
    const answer = await preflight(url, body({ source: { uri: answerAsStandalone(standalone) } }));
    expect(answer.status).toBe(200);
    expect(answer.body.verdict).toBe('failed');
    expect(answer.check('source.topology')).toMatchObject({
      status: 'failed',
      message: expect.stringContaining('is a standalone server'),
      advice: expect.stringContaining('rs.initiate()'),
    });
    expect(answer.check('source.changeStream')).toMatchObject({
      status: 'failed',
      message: expect.stringContaining('only supported on replica sets'),
    });
    expect(answer.check('source.members')).toMatchObject({ status: 'warned', advice: 'see source.topology' });
  });

  it('fails a mapping whose collection does not exist', async () => {
    const url = await serve();
    const answer = await preflight(url, body({ tableMappings: [mapping('orders'), mapping('nothing')] }));
    expect(answer.status).toBe(200);
    expect(answer.body.verdict).toBe('failed');
    expect(answer.check('source.collections')).toMatchObject({
      status: 'failed',
      message: 'collection shop.nothing does not exist',
      advice: expect.stringContaining('case-sensitive'),
    });
    expect(answer.check('source.topology').status).toBe('passed');
  });

  it('warns of a member in ROLLBACK', async () => {
    const url = await serve();
    const member = rs.members.find((candidate) => candidate.name !== rs.primary)?.name as string;
    rs.setMemberState(member, 'ROLLBACK');
    try {
      const answer = await preflight(url, body());
      expect(answer.status).toBe(200);
      expect(answer.check('source.members')).toMatchObject({
        status: 'warned',
        message: expect.stringContaining(`${member} ROLLBACK`),
        advice: expect.stringContaining('ROLLBACK'),
      });
      expect(answer.body.verdict).toBe('warned');
    } finally {
      rs.setMemberState(member, 'SECONDARY');
    }
  });

  it('fails a destination that refuses the password, without repeating it', async () => {
    const url = await serve();
    const wrong = { url: clickhouse.url, database: DATABASE, username: USER, password: 'wrong-password' };
    const answer = await preflight(url, body({ destination: wrong }));
    expect(answer.status).toBe(200);
    expect(answer.body.verdict).toBe('failed');
    expect(answer.check('destination.connection')).toMatchObject({
      status: 'failed',
      message: expect.stringContaining('Authentication failed'),
      advice: expect.stringContaining('password'),
    });
    expect(answer.checks.some((check) => check.id === 'destination.rights')).toBe(false);
    expect(JSON.stringify(answer.body)).not.toContain('wrong-password');
  });

  it('fails a target table another pipe owns, and one that exists with no owner', async () => {
    const url = await serve();
    const created = await call(url, 'POST', '/pipes', {
      body: { name: 'owner', source: { uri: rs.uri }, settings: { tableMappings: [mapping('orders')] } },
    });
    expect(created.status).toBe(202);
    // SetUpDestination claims the table before it creates it; the claim is what marks it owned.
    await store.claimTable(created.body.id, { database: DATABASE, table: 'orders' });
    const client = createClient({ url: clickhouse.url, username: USER, password: PASSWORD });
    try {
      await client.command({ query: 'CREATE DATABASE IF NOT EXISTS other_db' });
      await client.command({ query: 'CREATE TABLE other_db.by_hand (x UInt8) ENGINE = Memory' });
    } finally {
      await client.close();
    }
    const byHand = { ...mapping('users', 'by_hand'), targetDatabase: 'other_db' };
    const answer = await preflight(url, body({ tableMappings: [mapping('orders'), byHand] }));
    expect(answer.status).toBe(200);
    expect(answer.body.verdict).toBe('failed');
    expect(answer.check('tables.ownership')).toMatchObject({
      status: 'failed',
      message:
        `table ${DATABASE}.orders belongs to pipe ${created.body.id}; ` +
        'table other_db.by_hand exists and belongs to no pipe',
    });
  });

  it('fails the connection of a side it cannot reach, names why, and repeats no password', async () => {
    const url = await serve();
    const answer = await preflight(
      url,
      body({
        source: { uri: 'mongodb://alice:s3cret-pw@127.0.0.1:1/?replicaSet=rs0' },
        destination: { url: 'http://127.0.0.1:1', database: DATABASE, username: USER, password: PASSWORD },
        // A table no earlier test claimed: the claim check still runs without the destination.
        tableMappings: [mapping('users', 'unreached')],
      }),
    );
    expect(answer.status).toBe(200);
    expect(answer.checks.map((check) => [check.id, check.status])).toEqual([
      ['source.connection', 'failed'],
      ['destination.connection', 'failed'],
      ['tables.ownership', 'passed'],
    ]);
    expect(answer.check('source.connection')).toMatchObject({
      message: expect.stringMatching(/^SourceUnavailableError: /),
      advice: expect.stringContaining('check the hosts and port'),
    });
    expect(answer.check('destination.connection').message).toMatch(/^DestinationUnavailableError: /);
    expect(answer.check('tables.ownership').message).toContain('claims only');
    expect(JSON.stringify(answer.body)).not.toContain('s3cret-pw');
  }, 30_000);

  it('answers 400 for bad input and 403 for a secret the caller does not own, as a create does', async () => {
    const owners: SecretOwners = {
      ownersOf: async () => ({ owners: ['arn:aws:iam::123456789012:user/other'] }),
    };
    const url = await serve((deps) => ({
      ...deps,
      config: { ...deps.config, allowPlainSecrets: false, secretOwners: owners },
    }));
    const bad = await preflight(url, { source: { uri: rs.uri }, tableMappings: [] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fieldErrors.map((error: { path: string }) => error.path)).toContain(
      'tableMappings',
    );
    const withUri = await preflight(url, body());
    expect(withUri.status).toBe(400);
    expect(withUri.body.error.fieldErrors.map((error: { path: string }) => error.path)).toEqual([
      'source.uri',
      'destination.password',
    ]);
    const notOwned = await preflight(url, {
      source: { secretArn: SECRET },
      destination: { database: DATABASE, secretArn: SECRET },
      tableMappings: [mapping('orders')],
    });
    expect(notOwned.status).toBe(403);
    expect(notOwned.body.error.name).toBe('SecretNotOwnedError');
    expect(notOwned.body.error.fieldErrors[0].message).toContain(`does not list ${CALLER}`);
  });
});
