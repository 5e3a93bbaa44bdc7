import type { ClickHouseClient } from '@clickhouse/client';
import type { SnapshotReadOptions, SnapshotSource, SourceNamespace } from '../../functions/ports/source.js';

/** Stands for a process killed at a boundary: whatever it was doing stops there. */
export class InjectedCrash extends Error {
  override readonly name = 'InjectedCrash';
}

export interface Dying {
  /** True once the crash happened. */
  readonly died: boolean;
}

/**
 * Wraps a port so that calling `method` kills it: that call throws, and so does every later
 * call, as nothing runs in a dead process (no `finally` write, no lease release).
 */
export function dyingAt<T extends object>(target: T, method: string): T & Dying {
  let died = false;
  const crash = () => new InjectedCrash(`process killed before ${method}`);
  return new Proxy(target, {
    get(object, property, receiver) {
      if (property === 'died') return died;
      const value = Reflect.get(object, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (property === method) died = true;
        if (died) return Promise.reject(crash());
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

/** A ClickHouse client whose process dies right after EXCHANGE TABLES, before anything else. */
export function dyingAfterExchange(client: ClickHouseClient): ClickHouseClient & Dying {
  let exchanged = false;
  let died = false;
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'died') return died;
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (exchanged) {
          died = true;
          throw new InjectedCrash('process killed mid-swap, after EXCHANGE TABLES');
        }
        const query = (args[0] as { query?: unknown } | undefined)?.query;
        if (property === 'command' && typeof query === 'string' && query.startsWith('EXCHANGE TABLES'))
          exchanged = true;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as ClickHouseClient & Dying;
}
