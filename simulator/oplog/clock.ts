/**
 * The cluster clock: one source of strictly increasing `Timestamp`s shared by the oplog and by
 * every reply's `$clusterTime`/`operationTime`. Seconds follow the wall clock; the increment
 * counts writes within one second, as the real server's logical clock does.
 */
import { Timestamp } from 'bson';
import type { ClusterClock } from '../contract.js';

export interface ClusterClockOptions {
  /** Wall clock in milliseconds; injectable so tests can pin time. */
  now?: () => number;
}

export class ClusterClockImpl implements ClusterClock {
  private seconds: number;
  private increment: number;
  private readonly now: () => number;

  constructor(options: ClusterClockOptions = {}) {
    this.now = options.now ?? Date.now;
    this.seconds = Math.floor(this.now() / 1000);
    this.increment = 0;
  }

  current(): Timestamp {
    return new Timestamp({ t: this.seconds, i: this.increment });
  }

  /** Hands out the next cluster time, strictly greater than every earlier one. */
  tick(): Timestamp {
    const wallSeconds = Math.floor(this.now() / 1000);
    if (wallSeconds > this.seconds) {
      this.seconds = wallSeconds;
      this.increment = 1;
    } else {
      this.increment += 1;
      if (this.increment > 0xffffffff) {
        this.seconds += 1;
        this.increment = 1;
      }
    }
    return this.current();
  }

  /** Moves the clock forward to at least `ts` (a gossiped `$clusterTime`); never backwards. */
  advanceTo(ts: Timestamp): void {
    if (compareTimestamps(ts, this.current()) > 0) {
      this.seconds = ts.high;
      this.increment = ts.low;
    }
  }
}

/** Orders timestamps as unsigned (seconds, increment) pairs. */
export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  if (a.high !== b.high) return a.high < b.high ? -1 : 1;
  if (a.low !== b.low) return a.low < b.low ? -1 : 1;
  return 0;
}
