import type { Db, ObjectId } from 'mongodb';
import { DEFAULT_SAMPLE_SIZES, orderDocument } from './sample-data.js';

export interface WriteLoad {
  /** Writes made so far, by kind. */
  readonly counts: Readonly<Record<'inserts' | 'updates' | 'deletes', number>>;
  stop(): Promise<void>;
}

/**
 * A gentle live load on the demo database so CDC has something to carry: every tick inserts an
 * order, updates one, and now and then deletes one. Errors are reported, not thrown: the demo
 * source may be stepping down or stopping.
 */
export function startWriteLoad(
  db: Db,
  intervalMs = 500,
  onError: (err: unknown) => void = () => {},
): WriteLoad {
  const counts = { inserts: 0, updates: 0, deletes: 0 };
  const orders = db.collection('orders');
  let tick = 0;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;

  const step = async (): Promise<void> => {
    tick += 1;
    await orders.insertOne(orderDocument(DEFAULT_SAMPLE_SIZES.orders + tick, DEFAULT_SAMPLE_SIZES));
    counts.inserts += 1;
    const target = await orders
      .find({}, { projection: { _id: 1 } })
      .skip(tick % 100)
      .limit(1)
      .next();
    if (target) {
      await orders.updateOne(
        { _id: target._id as ObjectId },
        { $set: { status: 'delivered' }, $inc: { edits: 1 } },
      );
      counts.updates += 1;
    }
    if (tick % 10 === 0) {
      const victim = await orders
        .find({}, { projection: { _id: 1 } })
        .sort({ _id: -1 })
        .limit(1)
        .next();
      if (victim) {
        await orders.deleteOne({ _id: victim._id as ObjectId });
        counts.deletes += 1;
      }
    }
  };

  const timer = setInterval(() => {
    if (stopped) return;
    running = running.then(step).catch(onError);
  }, intervalMs);

  return {
    counts,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
