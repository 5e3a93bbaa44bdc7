/**
 * The shared oplog: every member reads the same entries (replication is instantaneous).
 * Bounded like a capped collection: by total BSON bytes and/or entry count, oldest first out.
 */
import { BSON, type Long, type Timestamp } from 'bson';
import type { ClusterClock, OplogDraft, OplogEntry, OplogWriter } from '../contract.js';
import { compareTimestamps } from './clock.js';

/** A clock that can hand out the next cluster time. */
export interface TickingClock extends ClusterClock {
  tick(): Timestamp;
}

export interface OplogOptions {
  clock: TickingClock;
  /** Current election term, stamped as `t` on each entry. */
  term: () => Long;
  /** Upper bound on the summed BSON size of retained entries. */
  maxBytes?: number;
  /** Upper bound on the number of retained entries. */
  maxEntries?: number;
  /** Wall clock for `wall`; injectable for tests. */
  now?: () => Date;
}

export type OplogListener = (entries: readonly OplogEntry[]) => void;

interface Waiter {
  resolve: (appended: boolean) => void;
  timer: NodeJS.Timeout;
}

/** Compacting the retained array only once the dead prefix is large keeps truncation O(1) amortised. */
const COMPACT_THRESHOLD = 1024;

export class Oplog implements OplogWriter {
  private entries: OplogEntry[] = [];
  private sizes: number[] = [];
  /** Index of the oldest retained entry in `entries`. */
  private head = 0;
  private totalBytes = 0;
  private readonly listeners = new Set<OplogListener>();
  private readonly waiters = new Set<Waiter>();
  private noopTimer: NodeJS.Timeout | undefined;
  private lastAppendAt = 0;
  private newestDropped: Timestamp | undefined;

  constructor(private readonly options: OplogOptions) {
    for (const [name, value] of [
      ['maxBytes', options.maxBytes],
      ['maxEntries', options.maxEntries],
    ] as const) {
      if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
        throw new RangeError(`Oplog ${name} must be a positive integer, got ${value}`);
      }
    }
  }

  append(drafts: OplogDraft[]): OplogEntry[] {
    if (drafts.length === 0) return [];
    const now = this.options.now ?? (() => new Date());
    const stamped: OplogEntry[] = [];
    for (const draft of drafts) {
      const entry: OplogEntry = {
        ...draft,
        ts: this.options.clock.tick(),
        t: this.options.term(),
        wall: now(),
      };
      const size = BSON.calculateObjectSize(entry);
      this.entries.push(entry);
      this.sizes.push(size);
      this.totalBytes += size;
      stamped.push(entry);
    }
    this.lastAppendAt = Date.now();
    this.enforceBounds();
    for (const listener of this.listeners) listener(stamped);
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(true);
    }
    this.waiters.clear();
    return stamped;
  }

  /** Retained entries, oldest first. */
  all(): readonly OplogEntry[] {
    return this.entries.slice(this.head);
  }

  get size(): number {
    return this.entries.length - this.head;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  oldest(): OplogEntry | undefined {
    return this.entries[this.head];
  }

  latest(): OplogEntry | undefined {
    return this.entries.length > this.head ? this.entries[this.entries.length - 1] : undefined;
  }

  /**
   * The timestamp of the newest entry that fell off (or was truncated); a reader whose position
   * is at or before it has lost history.
   */
  droppedThrough(): Timestamp | undefined {
    return this.newestDropped;
  }

  /** Entries strictly after `ts`, oldest first. */
  entriesAfter(ts: Timestamp, limit = Number.POSITIVE_INFINITY): OplogEntry[] {
    const start = this.firstIndexAfter(ts);
    const end = Math.min(this.entries.length, start + limit);
    return this.entries.slice(start, end);
  }

  /** Entries at or after `ts`, oldest first. */
  entriesFrom(ts: Timestamp, limit = Number.POSITIVE_INFINITY): OplogEntry[] {
    const start = this.firstIndexAtOrAfter(ts);
    const end = Math.min(this.entries.length, start + limit);
    return this.entries.slice(start, end);
  }

  /** Drops every entry older than `ts` (test control: simulates the oplog rolling over). */
  truncateBefore(ts: Timestamp): number {
    let dropped = 0;
    while (this.head < this.entries.length) {
      const oldest = this.entries[this.head];
      if (!oldest || compareTimestamps(oldest.ts, ts) >= 0) break;
      this.dropOldest();
      dropped += 1;
    }
    this.compact();
    return dropped;
  }

  /** Resolves true as soon as something is appended, or false after `timeoutMs`. */
  waitForAppend(timeoutMs: number): Promise<boolean> {
    if (timeoutMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          resolve(false);
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Registers a listener for every append; returns the function that removes it. */
  onAppend(listener: OplogListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Like the real server's periodic no-op writer: when nothing was written for `intervalMs`, it
   * appends a no-op so idle change streams still see the cluster time advance.
   */
  startNoopWriter(intervalMs: number): void {
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
      throw new RangeError(`noop interval must be a positive number of ms, got ${intervalMs}`);
    }
    this.stopNoopWriter();
    this.noopTimer = setInterval(() => {
      if (Date.now() - this.lastAppendAt < intervalMs) return;
      this.append([{ op: 'n', ns: '', o: { msg: 'periodic noop' } }]);
    }, intervalMs);
    this.noopTimer.unref();
  }

  stopNoopWriter(): void {
    if (this.noopTimer) clearInterval(this.noopTimer);
    this.noopTimer = undefined;
  }

  /** Stops the no-op writer and releases every waiter. */
  close(): void {
    this.stopNoopWriter();
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(false);
    }
    this.waiters.clear();
    this.listeners.clear();
  }

  private enforceBounds(): void {
    const { maxBytes, maxEntries } = this.options;
    // Keep at least the newest entry: the real capped oplog never empties itself.
    while (this.size > 1) {
      const overBytes = maxBytes !== undefined && this.totalBytes > maxBytes;
      const overCount = maxEntries !== undefined && this.size > maxEntries;
      if (!overBytes && !overCount) break;
      this.dropOldest();
    }
    this.compact();
  }

  private dropOldest(): void {
    this.newestDropped = this.entries[this.head]?.ts ?? this.newestDropped;
    this.totalBytes -= this.sizes[this.head] ?? 0;
    this.head += 1;
  }

  private compact(): void {
    if (this.head >= COMPACT_THRESHOLD && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }

  private firstIndexAfter(ts: Timestamp): number {
    return this.search((entryTs) => compareTimestamps(entryTs, ts) > 0);
  }

  private firstIndexAtOrAfter(ts: Timestamp): number {
    return this.search((entryTs) => compareTimestamps(entryTs, ts) >= 0);
  }

  /** First retained index whose timestamp satisfies the monotone predicate. */
  private search(isAtOrPast: (entryTs: Timestamp) => boolean): number {
    let low = this.head;
    let high = this.entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const entry = this.entries[mid];
      if (entry && isAtOrPast(entry.ts)) high = mid;
      else low = mid + 1;
    }
    return low;
  }
}
