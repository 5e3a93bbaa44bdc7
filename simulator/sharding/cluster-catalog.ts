/**
 * What a mongos read sees outside a transaction: the union of every shard's collections, so
 * find, aggregate, count, distinct and the listings run the simulator's own query engine over
 * all chunks and merge in the order the query asks for (scatter-gather; a query without sort
 * returns shard after shard, as a mongos does). A snapshot is rebuilt only after some shard
 * logged a write; open cursors keep the snapshot they started on. It is read-only: writes are
 * routed to the owning shards.
 */
import type { Document, UUID } from 'bson';
import { Catalog } from '../storage/catalog.js';
import type { Collection } from '../storage/collection.js';
import type { ShardLink } from './shard-link.js';

export class ClusterCatalog extends Catalog {
  private snapshotVersion = '';
  private snapshot = new Catalog();

  constructor(private readonly shards: readonly ShardLink[]) {
    super();
  }

  override get(db: string, name: string): Collection | undefined {
    return this.current().get(db, name);
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
    return this.current().findOneById(ns, id);
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

  private current(): Catalog {
    const version = this.shards
      .map((shard) => `${shard.deployment.oplog.latest()?.ts.toString() ?? '-'}`)
      .join('|');
    if (version !== this.snapshotVersion) {
      this.snapshot = mergeShards(this.shards);
      this.snapshotVersion = version;
    }
    return this.snapshot;
  }
}

function mergeShards(shards: readonly ShardLink[]): Catalog {
  const merged = new Catalog();
  for (const shard of shards) {
    const catalog = shard.deployment.catalog;
    for (const db of catalog.databaseNames()) {
      for (const collection of catalog.collectionsOf(db)) {
        const target = merged.get(db, collection.name);
        if (!target) {
          merged.attach(collection.clone());
          continue;
        }
        for (const entry of collection.scanNatural()) {
          // A unique secondary index cannot hold across shards (nor does it on a real cluster).
          try {
            target.insert(entry.doc);
          } catch {}
        }
      }
    }
  }
  return merged;
}
