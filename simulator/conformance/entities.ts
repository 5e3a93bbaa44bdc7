/** The entity map of one test and the driver objects it holds. */
import type {
  AbstractCursor,
  ChangeStream,
  ClientSession,
  Collection,
  Db,
  MongoClient,
  TopologyDescription,
} from 'mongodb';
import { TestFileError } from './errors.js';
import type { EventRecorder } from './events.js';
import type { EntityLookup } from './matcher.js';

export interface ClientEntity {
  kind: 'client';
  client: MongoClient;
  recorder: EventRecorder;
  closed: boolean;
}

/** A concurrently running queue of operations (`runOnThread`). */
export class RunnerThread {
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown;

  run(task: () => Promise<void>): void {
    this.chain = this.chain.then(task).catch((error: unknown) => {
      this.failure ??= error;
    });
  }

  /** Waits for the queued operations; rejects with the first failure, or after `timeoutMs`. */
  async finish(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`thread did not finish within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.chain, timeout]);
    } finally {
      clearTimeout(timer);
    }
    if (this.failure !== undefined) throw this.failure;
  }
}

export type Entity =
  | ClientEntity
  | { kind: 'database'; db: Db; client: ClientEntity }
  | { kind: 'collection'; collection: Collection; client: ClientEntity }
  | { kind: 'session'; session: ClientSession; client: ClientEntity }
  | { kind: 'changeStream'; stream: ChangeStream }
  | { kind: 'cursor'; cursor: AbstractCursor }
  | { kind: 'thread'; thread: RunnerThread }
  | { kind: 'topologyDescription'; description: TopologyDescription }
  | { kind: 'eventList'; events: Record<string, unknown>[] }
  | { kind: 'bson'; value: unknown };

type EntityOf<K extends Entity['kind']> = Extract<Entity, { kind: K }>;

export class EntityMap implements EntityLookup {
  private readonly entries = new Map<string, Entity>();
  /** Change streams and cursors an operation opened without saving them; closed with the entities. */
  private readonly unnamed: (ChangeStream | AbstractCursor)[] = [];

  trackUnnamed(resource: ChangeStream | AbstractCursor): void {
    this.unnamed.push(resource);
  }

  set(id: string, entity: Entity): void {
    if (this.entries.has(id)) throw new TestFileError(`entity ${id} already exists`);
    this.entries.set(id, entity);
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  get<K extends Entity['kind']>(id: unknown, kind: K): EntityOf<K> {
    if (typeof id !== 'string') throw new TestFileError(`entity name must be a string, got ${String(id)}`);
    const entity = this.entries.get(id);
    if (!entity) throw new TestFileError(`entity ${id} is not defined`);
    if (entity.kind !== kind) throw new TestFileError(`entity ${id} is a ${entity.kind}, not a ${kind}`);
    return entity as EntityOf<K>;
  }

  getAny(id: unknown): Entity {
    if (typeof id !== 'string') throw new TestFileError(`entity name must be a string, got ${String(id)}`);
    const entity = this.entries.get(id);
    if (!entity) throw new TestFileError(`entity ${id} is not defined`);
    return entity;
  }

  all(): [string, Entity][] {
    return [...this.entries.entries()];
  }

  bsonEntity(name: string): unknown {
    const entity = this.getAny(name);
    if (entity.kind === 'bson') return entity.value;
    if (entity.kind === 'eventList') return entity.events;
    throw new TestFileError(`entity ${name} is a ${entity.kind}, not a BSON value`);
  }

  sessionLsid(name: string): unknown {
    const lsid = this.get(name, 'session').session.id;
    if (!lsid) throw new TestFileError(`session ${name} has no server session yet`);
    return lsid;
  }

  /** Ends sessions, closes cursors, change streams and clients (in that order); never throws. */
  async closeAll(): Promise<void> {
    const entities = [...this.entries.values()];
    for (const resource of this.unnamed.splice(0)) await resource.close().catch(() => undefined);
    for (const entity of entities) {
      if (entity.kind === 'changeStream') await entity.stream.close().catch(() => undefined);
      if (entity.kind === 'cursor') await entity.cursor.close().catch(() => undefined);
    }
    for (const entity of entities) {
      if (entity.kind === 'session') await entity.session.endSession().catch(() => undefined);
    }
    for (const entity of entities) {
      if (entity.kind === 'client') {
        entity.recorder.stop();
        await entity.client.close(true).catch(() => undefined);
      }
    }
    this.entries.clear();
  }
}
