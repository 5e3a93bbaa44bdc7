/**
 * Acceptance: a change stream opened through the real driver rides through a primary step-down.
 * Writes continue on the new primary (retryable writes) and the stream delivers every event
 * exactly once, in order.
 */
import { type ChangeStreamInsertDocument, type Document, MongoClient } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import { type ReplicaSetHandle, startReplicaSet } from '../../simulator/index.js';

interface Order {
  _id: number;
  phase: string;
}

let replicaSet: ReplicaSetHandle | undefined;
let client: MongoClient | undefined;

afterEach(async () => {
  await client?.close();
  await replicaSet?.stop();
  client = undefined;
  replicaSet = undefined;
});

async function collectEvents(
  next: () => Promise<Document | null>,
  count: number,
  timeoutMs: number,
): Promise<ChangeStreamInsertDocument<Order>[]> {
  const events: ChangeStreamInsertDocument<Order>[] = [];
  const deadline = Date.now() + timeoutMs;
  while (events.length < count && Date.now() < deadline) {
    const change = await next();
    if (change) events.push(change as ChangeStreamInsertDocument<Order>);
  }
  return events;
}

describe('change stream across a step-down', () => {
  it.each([
    { oldPrimaryBecomes: 'SECONDARY', label: 'the stream keeps reading from the stepped-down member' },
    {
      oldPrimaryBecomes: 'RECOVERING',
      label: 'the stream resumes on the new primary when the old one recovers',
    },
    { oldPrimaryBecomes: 'DOWN', label: 'the stream resumes on the new primary when the old one goes down' },
  ] as const)(
    'delivers every event exactly once in order: $label',
    async ({ oldPrimaryBecomes }) => {
      replicaSet = await startReplicaSet({ members: 3, electionDelayMs: 100, noopIntervalMs: 500 });
      client = new MongoClient(replicaSet.uri, {
        retryWrites: true,
        // The driver spends up to two server selections on the pinned, unreachable member (getMore,
        // then killCursors) before it resumes elsewhere; keep them short.
        serverSelectionTimeoutMS: 3000,
        monitorCommands: true,
      });
      const aggregates: Array<{ address: string; resumed: boolean }> = [];
      client.on('commandStarted', (event) => {
        const stage = (event.command.pipeline as Document[] | undefined)?.[0]?.$changeStream as
          | Document
          | undefined;
        if (event.commandName === 'aggregate' && stage) {
          aggregates.push({ address: event.address, resumed: stage.resumeAfter !== undefined });
        }
      });
      const orders = client.db('shop').collection<Order>('orders');
      await client.db('shop').createCollection('orders');

      const stream = orders.watch<Order, ChangeStreamInsertDocument<Order>>([], { maxAwaitTimeMS: 200 });
      const next = () => stream.tryNext();
      expect(await next()).toBeNull();

      const inserted: number[] = [];
      for (let id = 0; id < 20; id += 1) {
        await orders.insertOne({ _id: id, phase: 'before' });
        inserted.push(id);
      }
      const firstEvents = await collectEvents(next, 20, 15_000);
      expect(firstEvents.map((event) => event.documentKey._id)).toEqual(inserted);

      const oldPrimary = replicaSet.primary!;
      replicaSet.stepDown({ stepDownSecs: 60 });
      // RECOVERING refuses getMore (13436, labelled resumable); DOWN drops every connection.
      if (oldPrimaryBecomes !== 'SECONDARY') replicaSet.setMemberState(oldPrimary, oldPrimaryBecomes);

      for (let id = 20; id < 40; id += 1) {
        await orders.insertOne({ _id: id, phase: 'after' });
        inserted.push(id);
      }
      expect(replicaSet.primary).toBeDefined();
      expect(replicaSet.primary).not.toBe(oldPrimary);

      const laterEvents = await collectEvents(next, 20, 30_000);
      const allEvents = [...firstEvents, ...laterEvents];
      expect(allEvents.map((event) => event.documentKey._id)).toEqual(inserted);
      expect(allEvents.every((event) => event.operationType === 'insert')).toBe(true);
      expect(laterEvents.every((event) => event.fullDocument.phase === 'after')).toBe(true);
      // Nothing more arrives: no duplicate replays after the resume.
      expect(await next()).toBeNull();
      expect(await orders.countDocuments()).toBe(40);
      expect(aggregates[0]).toEqual({ address: oldPrimary, resumed: false });
      if (oldPrimaryBecomes !== 'SECONDARY') {
        // Losing the member forced a resume, on the new primary, from the last token seen.
        expect(aggregates.slice(1)).toContainEqual({ address: replicaSet.primary, resumed: true });
      } else {
        expect(aggregates).toHaveLength(1);
      }
      await stream.close();
    },
    60_000,
  );
});
