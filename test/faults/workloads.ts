import type { Document } from 'mongodb';
import {
  DEFAULT_MIX,
  type DocumentFactory,
  type LoadCollection,
  type OperationMix,
  sampleDocument,
} from '../e2e/write-load.js';

/** What a case writes: the collections, their seed, and the operations made during the run. */
export interface Workload {
  name: string;
  /** Two collections per workload, with different `_id` types. */
  collections(prefix: string): LoadCollection[];
  seedPerCollection: number;
  /** Operations per write phase (there are two to four phases per case). */
  operationsPerPhase: number;
  mix: OperationMix;
  makeDocument: DocumentFactory;
  /** Pipe settings the workload needs (e.g. a byte bound that cuts batches of large documents). */
  settings?: Record<string, unknown>;
}

const NO_OPS: OperationMix = { insert: 0, update: 0, replace: 0, delete: 0, reinsert: 0, transaction: 0 };

function pairOf(
  prefix: string,
  kinds: [LoadCollection['idKind'], LoadCollection['idKind']],
): LoadCollection[] {
  return kinds.map((idKind, n) => ({
    db: prefix,
    coll: `c${n}_${idKind}`,
    target: `${prefix}_c${n}`,
    idKind,
  }));
}

/** A document of about `bytes` bytes: a sample document with a long text and a binary-ish array. */
function largeDocument(bytes: number): DocumentFactory {
  return (id, n) => {
    const base: Document = sampleDocument(id, n);
    const text = `${n}:`.padEnd(Math.floor(bytes * 0.7), String.fromCharCode(97 + (n % 26)));
    return { ...base, body: text, samples: Array.from({ length: Math.floor(bytes / 300) }, (_, k) => k * n) };
  };
}

export const WORKLOADS: readonly Workload[] = [
  {
    name: 'insert-only',
    collections: (prefix) => pairOf(prefix, ['objectId', 'int']),
    seedPerCollection: 300,
    operationsPerPhase: 120,
    mix: { ...NO_OPS, insert: 1 },
    makeDocument: sampleDocument,
  },
  {
    name: 'update-heavy',
    collections: (prefix) => pairOf(prefix, ['string', 'objectId']),
    seedPerCollection: 300,
    operationsPerPhase: 150,
    mix: { ...NO_OPS, update: 0.8, replace: 0.1, insert: 0.1 },
    makeDocument: sampleDocument,
  },
  {
    name: 'delete-heavy',
    collections: (prefix) => pairOf(prefix, ['compound', 'int']),
    seedPerCollection: 400,
    operationsPerPhase: 150,
    mix: { ...NO_OPS, delete: 0.6, reinsert: 0.15, insert: 0.1, update: 0.15 },
    makeDocument: sampleDocument,
  },
  {
    name: 'transactions',
    collections: (prefix) => pairOf(prefix, ['objectId', 'string']),
    seedPerCollection: 300,
    operationsPerPhase: 40,
    mix: { ...DEFAULT_MIX, transaction: 0.8 },
    makeDocument: sampleDocument,
  },
  {
    name: 'large-documents',
    collections: (prefix) => pairOf(prefix, ['int', 'objectId']),
    seedPerCollection: 12,
    operationsPerPhase: 10,
    mix: { ...NO_OPS, update: 0.4, replace: 0.2, insert: 0.2, delete: 0.2 },
    makeDocument: largeDocument(1_500_000),
    settings: { snapshotBatchMaxBytes: 4 * 1024 * 1024 },
  },
];
