/**
 * Shared setup of the white-box change stream tests: the real oplog, catalog and cursor registry,
 * with writes appended the way STORAGE appends them.
 */
import { type Document, Long, type UUID } from 'bson';
import { afterEach, beforeEach, expect } from 'vitest';
import { createChangeStreamOpener, type OpenChangeStream } from '../../../simulator/changestreams/index.js';
import {
  type CommandContext,
  CommandError,
  type CursorBatch,
  type ServerCursor,
} from '../../../simulator/contract.js';
import { ClusterClockImpl } from '../../../simulator/oplog/clock.js';
import { Oplog } from '../../../simulator/oplog/oplog.js';
import { Catalog } from '../../../simulator/storage/catalog.js';
import { CursorRegistryImpl } from '../../../simulator/storage/cursors.js';

export const ctx: CommandContext = {
  db: 'shop',
  name: 'aggregate',
  body: {},
  memberName: '127.0.0.1:1',
  memberState: 'PRIMARY',
  connectionId: 1,
};

export interface StreamEnv {
  oplog: Oplog;
  catalog: Catalog;
  open: OpenChangeStream;
  ordersUuid: UUID;
}

/** Fresh parts before each test of the calling file; `env` always holds the current ones. */
export function useStreamEnv(): StreamEnv {
  const env = {} as StreamEnv;
  beforeEach(() => {
    const clock = new ClusterClockImpl();
    env.oplog = new Oplog({ clock, term: () => Long.fromNumber(1) });
    env.catalog = new Catalog();
    env.ordersUuid = env.catalog.create('shop', 'orders').uuid;
    env.open = createChangeStreamOpener({
      oplog: env.oplog,
      catalog: env.catalog,
      cursors: new CursorRegistryImpl(),
      clock,
    });
  });
  afterEach(() => env.oplog.close());
  return env;
}

export function watch(
  env: StreamEnv,
  options: Document = {},
  pipeline: Document[] = [],
  collection: string | null = 'orders',
): ServerCursor {
  return env.open(ctx, { db: 'shop', collection }, options, pipeline);
}

export function insert(env: StreamEnv, doc: Document, ns = 'shop.orders', ui: UUID = env.ordersUuid): void {
  env.catalog.getByNs(ns)?.insert(doc);
  env.oplog.append([{ op: 'i', ns, ui, o: doc, o2: { _id: doc._id } }]);
}

export async function next(cursor: ServerCursor, batchSize?: number): Promise<CursorBatch> {
  return cursor.nextBatch(batchSize, 0);
}

export function types(batch: CursorBatch): string[] {
  return batch.documents.map((event) => event.operationType);
}

export async function expectCommandError(action: () => unknown, code: number): Promise<void> {
  try {
    await action();
  } catch (error) {
    expect(error).toBeInstanceOf(CommandError);
    expect((error as CommandError).code).toBe(code);
    return;
  }
  expect.unreachable(`expected error ${code}`);
}
