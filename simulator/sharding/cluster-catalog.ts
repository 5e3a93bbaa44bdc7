/**
 * What a mongos read sees outside a transaction: the union of every shard's collections, so
 * aggregate, count, distinct and the listings run the simulator's own query engine over all
 * chunks and merge in the order the query asks for (scatter-gather; a query without sort
 * returns shard after shard, as a mongos does). A `find` is sent to the shards its `_id`
 * condition targets instead (reads.ts, targeting.ts). A collection's merged copy is rebuilt only
 * after some shard logged a data change (no-ops do not count); open cursors keep the copy they
 * started on. It is read-only: writes are routed to the owning shards.
 */
import type { Document, UUID } from 'bson';
import { Catalog } from '../storage/catalog.js';
import type { Collection } from '../storage/collection.js';
import type { ShardLink } from './shard-link.js';

export class ClusterCatalog extends Catalog {
  private dataVersion = 0;
  private snapshotVersion = -1;
  private snapshot = new Catalog();
  private readonly merged = new Map<string, { version: number; collection: Collection | undefined }>();

  constructor(private readonly shards: readonly ShardLink[]) {
    super();
    for (const shard of shards) {
      shard.deployment.oplog.onAppend((entries) => {
        if (entries.some((entry) => entry.op !== 'n')) this.dataVersion += 1;
      });
    }
  }

  override get(db: string, name: string): Collection | undefined {
    const ns = `${db}.${name}`;
    const cached = this.merged.get(ns);
    if (cached?.version === this.dataVersion) return cached.collection;
    const collection = mergeCollection(this.shards, db, name);
    this.merged.set(ns, { version: this.dataVersion, collection });
    return collection;
  }

  override collectionsOf(db: string): Collection[] {
    return this.current().collectionsOf(db);
  }

  override databaseNames(): string[] {
    return this.current().databaseNames();
  }

  override hasDatabase(db: string): boolean {
    return this.current().hasDatabase(db);
  }

  override byUuid(uuid: UUID): Collection | undefined {
    return this.current().byUuid(uuid);
  }

  override findOneById(ns: string, id: unknown): Document | null {
    const dot = ns.indexOf('.');
    return this.get(ns.slice(0, dot), ns.slice(dot + 1))?.getById(id) ?? null;
  }

  /** Cheap: the shards' own collection (one uuid on every shard), no merge. */
  override collectionInfo(ns: string): { uuid: UUID; changeStreamPreAndPostImages: boolean } | null {
    for (const shard of this.shards) {
      const info = shard.deployment.catalog.collectionInfo(ns);
      if (info) return info;
    }
    return null;
  }

  override create(): Collection {
    throw new Error('The cluster catalog is read-only; the router creates collections on the shards');
  }

  override attach(): void {
    throw new Error('The cluster catalog is read-only');
  }

  override remove(): Collection | undefined {
    throw new Error('The cluster catalog is read-only');
  }

  /** Every collection merged, for the listings. */
  private current(): Catalog {
    if (this.snapshotVersion !== this.dataVersion) {
      this.snapshot = new Catalog();
      const names = new Set<string>();
      for (const shard of this.shards) {
        for (const db of shard.deployment.catalog.databaseNames()) {
          for (const collection of shard.deployment.catalog.collectionsOf(db))
            names.add(`${db}\0${collection.name}`);
        }
      }
      for (const key of names) {
        const [db, name] = key.split('\0') as [string, string];
        const collection = this.get(db, name);
        if (collection) this.snapshot.attach(collection);
      }
      this.snapshotVersion = this.dataVersion;
    }
    return this.snapshot;
  }
}

/** One collection as the union of its chunks on every shard (shard after shard). */
function mergeCollection(shards: readonly ShardLink[], db: string, name: string): Collection | undefined {
  let target: Collection | undefined;
  for (const shard of shards) {
    const collection = shard.deployment.catalog.get(db, name);
    if (!collection) continue;
    if (!target) {
      target = collection.clone();
      continue;
    }
    for (const entry of collection.scanNatural()) {
      // A unique secondary index cannot hold across shards (nor does it on a real cluster).
      try {
        target.insert(entry.doc);
      } catch {}
    }
  }
  return target;
}
