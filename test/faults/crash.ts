import type { ClickHouseClient } from '@clickhouse/client';
import type { SnapshotReadOptions, SnapshotSource, SourceNamespace } from '../../functions/ports/source.js';

/** Stands for a process killed at a boundary: whatever it was doing stops there. */
export class InjectedCrash extends Error {
  override readonly name = 'InjectedCrash';
}

export interface Dying {
  /** True once the crash happened. */
  readonly died: boolean;
  /** How it died, once it did. */
  readonly reason?: string;
}

export interface DyingAtOptions {
  /** Asked at each call of the method: false lets that call through (e.g. "the 2nd commit"). */
  when?: () => boolean;
  /** The call goes through first (e.g. an insert ClickHouse took), then the process dies. */
  after?: boolean;
}

/**
 * Wraps a port so that calling `method` kills it: that call throws, and so does every later
 * call, as nothing runs in a dead process (no `finally` write, no lease release).
 */
export function dyingAt<T extends object>(
  target: T,
  method: string,
  options: DyingAtOptions = {},
): T & Dying {
  let died = false;
  const reason = `process killed ${options.after ? 'after' : 'before'} ${method}`;
  const crash = () => new InjectedCrash(reason);
  return new Proxy(target, {
    get(object, property, receiver) {
      if (property === 'died') return died;
      if (property === 'reason') return died ? reason : undefined;
      const value = Reflect.get(object, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (died) throw crash();
        const dies = property === method && (options.when?.() ?? true);
        if (dies && !options.after) died = true;
        if (died) throw crash();
        const result = await (value as (...a: unknown[]) => unknown).apply(object, args);
        if (dies) {
          died = true;
          throw crash();
        }
        return result;
      };
    },
  }) as T & Dying;
}

/** Another port of the same process as `other`: once that one died, every call here throws. */
export function dyingWith<T extends object>(target: T, other: Dying): T & Dying {
  return new Proxy(target, {
    get(object, property, receiver) {
      if (property === 'died') return other.died;
      if (property === 'reason') return other.reason;
      const value = Reflect.get(object, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (other.died) return Promise.reject(new InjectedCrash(other.reason ?? 'process killed'));
        return (value as (...a: unknown[]) => unknown).apply(object, args);
      };
    },
  }) as T & Dying;
}

/** A snapshot source whose process dies after serving `afterBatches` batches of a partition read. */
export function dyingMidChunk(source: SnapshotSource, afterBatches: number): SnapshotSource & Dying {
  const wrapper = {
    died: false,
    planPartitions: source.planPartitions.bind(source),
    async *readPartition(namespace: SourceNamespace, options: SnapshotReadOptions) {
      if (wrapper.died) throw new InjectedCrash('process killed');
      let served = 0;
      for await (const batch of source.readPartition(namespace, options)) {
        if (served === afterBatches) {
          wrapper.died = true;
          throw new InjectedCrash('process killed mid-chunk');
        }
        served += 1;
        yield batch;
      }
    },
  };
  return wrapper;
}

const MID_SWAP = 'process killed mid-swap, after EXCHANGE TABLES';

/** A ClickHouse client whose process dies right after EXCHANGE TABLES, before anything else. */
export function dyingAfterExchange(client: ClickHouseClient): ClickHouseClient & Dying {
  let died = false;
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'died') return died;
      if (property === 'reason') return died ? MID_SWAP : undefined;
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (died) throw new InjectedCrash(MID_SWAP);
        const query = (args[0] as { query?: unknown } | undefined)?.query;
        const result = await (value as (...a: unknown[]) => unknown).apply(target, args);
        // Dead from the moment EXCHANGE returned: a port of the same process (dyingWith) stops too.
        if (property === 'command' && typeof query === 'string' && query.startsWith('EXCHANGE TABLES'))
          died = true;
        return result;
      };
    },
  }) as ClickHouseClient & Dying;
}
