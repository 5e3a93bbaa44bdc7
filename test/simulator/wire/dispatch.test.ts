import { Long, UUID } from 'bson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReplicaSetHandle, startReplicaSet } from '../../../simulator/index.js';
import { errorLabelsFor } from '../../../simulator/server/error-labels.js';
import { CommandRegistry } from '../../../simulator/server/registry.js';
import { RawClient } from './raw-client.js';

describe('CommandRegistry', () => {
  it('matches names case-sensitively except the isMaster/ismaster alias', () => {
    const registry = new CommandRegistry();
    const handler = () => ({});
    registry.register('isMaster', handler);
    registry.register('ping', handler);
    expect(registry.lookup('ismaster')).toBe(handler);
    expect(registry.lookup('Ping')).toBeUndefined();
    expect(() => registry.register('ismaster', handler)).toThrow(/twice/);
  });
});

describe('errorLabelsFor', () => {
  const lsid = { id: new UUID() };
  it('labels retryable writes, transactions and change streams like the server', () => {
    const retryable = { lsid, txnNumber: Long.ONE, inTransaction: false, startTransaction: false };
    expect(errorLabelsFor({ name: 'insert', session: retryable, changeStream: false }, 10107)).toEqual([
      'RetryableWriteError',
    ]);
    expect(errorLabelsFor({ name: 'insert', changeStream: false }, 10107)).toEqual([]);
    expect(errorLabelsFor({ name: 'find', session: retryable, changeStream: false }, 10107)).toEqual([]);
    expect(errorLabelsFor({ name: 'commitTransaction', changeStream: false }, 91)).toEqual([
      'RetryableWriteError',
    ]);
    const inTransaction = { lsid, txnNumber: Long.ONE, inTransaction: true, startTransaction: false };
    expect(errorLabelsFor({ name: 'insert', session: inTransaction, changeStream: false }, 112)).toEqual([
      'TransientTransactionError',
    ]);
    expect(errorLabelsFor({ name: 'getMore', changeStream: true }, 11602)).toEqual([
      'ResumableChangeStreamError',
    ]);
    expect(errorLabelsFor({ name: 'getMore', changeStream: true }, 286)).toEqual([
      'NonResumableChangeStreamError',
    ]);
    expect(errorLabelsFor({ name: 'getMore', changeStream: true }, 2)).toEqual([]);
  });
});

describe('dispatch over the wire', () => {
  let replicaSet: ReplicaSetHandle;
  let client: RawClient;

  beforeAll(async () => {
    replicaSet = await startReplicaSet({ members: 1, noopIntervalMs: 0 });
    client = await RawClient.open(replicaSet.members[0]!.port);
  });

  afterAll(async () => {
    client?.close();
    await replicaSet?.stop();
  });

  async function send(body: Record<string, unknown>) {
    client.write(client.opMsg(body).frame);
    return (await client.nextReply()).document;
  }

  it('rejects a differently cased command name', async () => {
    expect(await send({ Ping: 1, $db: 'admin' })).toMatchObject({
      ok: 0,
      code: 59,
      errmsg: "no such command: 'Ping'",
    });
    expect(await send({ ismaster: 1, $db: 'admin' })).toMatchObject({ ok: 1, ismaster: true });
  });

  it('accepts only the handshake over OP_QUERY', async () => {
    client.write(client.opQuery('admin.$cmd', { ping: 1 }).frame);
    expect((await client.nextReply()).document).toMatchObject({ ok: 0, code: 352 });
  });

  it('reports the session count and cluster time in serverStatus', async () => {
    await send({ ping: 1, lsid: { id: new UUID() }, $db: 'admin' });
    const status = await send({ serverStatus: 1, oplog: 1, $db: 'admin' });
    expect(status.logicalSessionRecordCache.activeSessionsCount).toBeGreaterThanOrEqual(1);
    expect(status.repl.setName).toBe('rs0');
    expect(status.oplog.latestOptime).toEqual(status.operationTime);
  });

  it('answers the diagnostic commands tools send', async () => {
    expect((await send({ buildInfo: 1, $db: 'admin' })).versionArray).toEqual([7, 0, 14, 0]);
    expect(await send({ getParameter: 1, featureCompatibilityVersion: 1, $db: 'admin' })).toMatchObject({
      featureCompatibilityVersion: { version: '7.0' },
    });
    expect((await send({ whatsmyuri: 1, $db: 'admin' })).you).toMatch(/^127\.0\.0\.1:\d+$/);
    expect((await send({ listCommands: 1, $db: 'admin' })).commands.replSetStepDown).toBeDefined();
    expect(await send({ saslStart: 1, mechanism: 'SCRAM-SHA-256', $db: 'admin' })).toMatchObject({
      ok: 0,
      code: 18,
    });
    expect((await send({ replSetGetConfig: 1, $db: 'admin' })).config.members).toHaveLength(1);
  });
});
