/**
 * Sizes for collStats, dbStats, $collStats and listDatabases. Data sizes are exact BSON sizes;
 * index and on-disk sizes are estimates (no compression, a fixed cost per index entry).
 */
import type { Document } from 'bson';
import type { Collection } from './collection.js';

/** Rough bytes per index entry (key + record id + B-tree overhead). */
const INDEX_ENTRY_BYTES = 36;
/** WiredTiger never reports a collection file smaller than one page. */
const MIN_FILE_BYTES = 4096;

export function indexSizes(collection: Collection): Document {
  const sizes: Document = {};
  for (const index of collection.indexes) {
    sizes[index.name] = Math.max(MIN_FILE_BYTES, collection.count * INDEX_ENTRY_BYTES);
  }
  return sizes;
}

export function storageSize(collection: Collection): number {
  return Math.max(MIN_FILE_BYTES, collection.dataSize);
}

function totalIndexSize(collection: Collection): number {
  return Object.values(indexSizes(collection)).reduce((sum: number, size) => sum + Number(size), 0);
}

/** The storage part of collStats / `$collStats: {storageStats}`, divided by `scale`. */
export function storageStats(collection: Collection, scale = 1): Document {
  const count = collection.count;
  const scaled = (bytes: number) => Math.trunc(bytes / scale);
  const sizes = indexSizes(collection);
  const stats: Document = {
    size: scaled(collection.dataSize),
    count,
    avgObjSize: count === 0 ? 0 : Math.trunc(collection.dataSize / count),
    numOrphanDocs: 0,
    storageSize: scaled(storageSize(collection)),
    freeStorageSize: 0,
    capped: collection.options.capped === true,
    nindexes: collection.indexes.length,
    indexBuilds: [],
    totalIndexSize: scaled(totalIndexSize(collection)),
    totalSize: scaled(storageSize(collection) + totalIndexSize(collection)),
    indexSizes: Object.fromEntries(Object.entries(sizes).map(([name, size]) => [name, scaled(Number(size))])),
    scaleFactor: scale,
  };
  if (collection.options.capped) {
    stats.max = collection.options.max ?? 0;
    stats.maxSize = collection.options.size ?? 0;
  }
  return stats;
}

export function databaseStats(db: string, collections: Collection[], scale = 1): Document {
  const objects = collections.reduce((sum, c) => sum + c.count, 0);
  const dataSize = collections.reduce((sum, c) => sum + c.dataSize, 0);
  const storage = collections.reduce((sum, c) => sum + storageSize(c), 0);
  const indexes = collections.reduce((sum, c) => sum + c.indexes.length, 0);
  const indexSize = collections.reduce((sum, c) => sum + totalIndexSize(c), 0);
  const scaled = (bytes: number) => Math.trunc(bytes / scale);
  return {
    db,
    collections: collections.length,
    views: 0,
    objects,
    avgObjSize: objects === 0 ? 0 : dataSize / objects,
    dataSize: scaled(dataSize),
    storageSize: scaled(storage),
    indexes,
    indexSize: scaled(indexSize),
    totalSize: scaled(storage + indexSize),
    scaleFactor: scale,
    fsUsedSize: 0,
    fsTotalSize: 0,
    ok: 1,
  };
}

/** What listDatabases reports as a database's size on disk. */
export function sizeOnDisk(collections: Collection[]): number {
  return collections.reduce((sum, c) => sum + storageSize(c) + totalIndexSize(c), 0);
}
