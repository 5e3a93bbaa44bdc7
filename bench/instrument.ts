/**
 * Timing wrappers around the engine's ports, to see where a snapshot chunk spends its time
 * without changing the engine: time spent waiting for the source's next batch, in inserts (a
 * streamed insert runs from its first chunk to its answer, so it overlaps the reads that feed it),
 * and in pipe store calls. The wrappers only read the clock.
 */
import type { DynamoPipeStore } from '../functions/adapters/dynamodb/store.js';
import type { StreamedSink } from '../functions/engines/destination-needs.js';
import type { SnapshotSource } from '../functions/ports/source.js';

export interface PhaseTimings {
  /** Seconds from asking the source for a batch to having it (reads may run during an insert). */
  readWait: number;
  /** Seconds inside inserts, from the call to the answer. */
  insert: number;
  /** [start, end] in ms of every read and every insert, to see how much they overlap. */
  readSpans: [number, number][];
  insertSpans: [number, number][];
  /** Seconds inside pipe store calls. */
  store: number;
  reads: number;
  inserts: number;
  storeCalls: number;
}

export function timedSource(
  source: Pick<SnapshotSource, 'readPartition'>,
  timings: PhaseTimings,
): Pick<SnapshotSource, 'readPartition'> {
  return {
    readPartition: (namespace, options) => timedIterable(source.readPartition(namespace, options), timings),
  };
}

async function* timedIterable<T>(iterable: AsyncIterable<T>, timings: PhaseTimings): AsyncGenerator<T> {
  const iterator = iterable[Symbol.asyncIterator]();
  try {
    for (;;) {
      const started = performance.now();
      const next = await iterator.next();
      const ended = performance.now();
      timings.readWait += (ended - started) / 1000;
      timings.readSpans.push([started, ended]);
      timings.reads += 1;
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await iterator.return?.();
  }
}

export function timedDestination(destination: StreamedSink, timings: PhaseTimings): StreamedSink {
  return {
    insertStreamed: async (batch) => {
      const started = performance.now();
      try {
        return await destination.insertStreamed(batch);
      } finally {
        const ended = performance.now();
        timings.insert += (ended - started) / 1000;
        timings.insertSpans.push([started, ended]);
        timings.inserts += 1;
      }
    },
  };
}

/** The store with every method timed (the engines only call methods). */
export function timedStore(store: DynamoPipeStore, timings: PhaseTimings): DynamoPipeStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const started = performance.now();
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          timings.store += (performance.now() - started) / 1000;
          timings.storeCalls += 1;
        }
      };
    },
  });
}

export function newTimings(): PhaseTimings {
  return {
    readWait: 0,
    insert: 0,
    readSpans: [],
    insertSpans: [],
    store: 0,
    reads: 0,
    inserts: 0,
    storeCalls: 0,
  };
}

/** Seconds during which at least one insert was in progress (the product overlaps two). */
export function insertSeconds(timings: PhaseTimings): number {
  return merged(timings.insertSpans).reduce((sum, [start, end]) => sum + (end - start), 0) / 1000;
}

/** Seconds during which a read and an insert were both in progress. */
export function overlapSeconds(timings: PhaseTimings): number {
  let overlap = 0;
  const inserting = merged(timings.insertSpans);
  for (const [readStart, readEnd] of timings.readSpans) {
    for (const [insertStart, insertEnd] of inserting) {
      overlap += Math.max(0, Math.min(readEnd, insertEnd) - Math.max(readStart, insertStart));
    }
  }
  return overlap / 1000;
}

/** The spans as disjoint spans covering the same time. */
function merged(spans: readonly [number, number][]): [number, number][] {
  const sorted = [...spans].sort((a, b) => a[0] - b[0]);
  const union: [number, number][] = [];
  for (const [start, end] of sorted) {
    const last = union.at(-1);
    if (last !== undefined && start <= last[1]) last[1] = Math.max(last[1], end);
    else union.push([start, end]);
  }
  return union;
}
