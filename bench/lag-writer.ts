/**
 * The steady write load of the lag run, in its own process (like an application): `rate` writes
 * per second for `seconds`, alternating inserts of new ~1 KB documents (`_id` lag-<n>) and
 * updates of seeded documents (`_id` lag-seed-<n>, each updated once), so every write lands as
 * its own row. Reports when each write was acknowledged, then exits.
 */
import { MongoClient } from 'mongodb';
import { orderDocument } from './documents.js';

export interface LagWriterConfig {
  uri: string;
  db: string;
  coll: string;
  rate: number;
  seconds: number;
}

export interface LagWriterReport {
  /** `[row _id, epoch ms of the acknowledgement]` per write. */
  acks: [string, number][];
  failed: number;
  wallSeconds: number;
}

const MAX_IN_FLIGHT = 64;

// The parent gone (or done with us): stop at once, whatever is in flight.
process.once('disconnect', () => process.exit(0));
if (!process.connected) process.exit(0);
const config = JSON.parse(process.env.BENCH_LAG_WRITER ?? '{}') as LagWriterConfig;
const client = new MongoClient(config.uri);
await client.connect();
const collection = client.db(config.db).collection<{ _id: string; [key: string]: unknown }>(config.coll);
process.send?.({ ready: true });
await new Promise((resolve) => process.once('message', resolve));

const acks: [string, number][] = [];
let failed = 0;
let issued = 0;
let inFlight = 0;
const total = Math.round(config.rate * config.seconds);
const started = Date.now();

function writeOne(n: number): void {
  const id = n % 2 === 0 ? `lag-${n}` : `lag-seed-${(n - 1) / 2}`;
  const write =
    n % 2 === 0
      ? collection.insertOne({ ...orderDocument(n, id), _id: id, seq: n })
      : collection.updateOne({ _id: id }, { $set: { seq: n, total: n / 7, updatedAt: new Date() } });
  inFlight += 1;
  write
    .then(
      () => acks.push([id, Date.now()]),
      () => {
        failed += 1;
      },
    )
    .finally(() => {
      inFlight -= 1;
    });
}

// Every 5 ms, issue the writes the schedule owes by now (bounded in flight).
while (issued < total) {
  const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * config.rate));
  while (issued < due && inFlight < MAX_IN_FLIGHT) writeOne(issued++);
  await new Promise((resolve) => setTimeout(resolve, 5));
}
while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 5));
const report: LagWriterReport = { acks, failed, wallSeconds: (Date.now() - started) / 1000 };
await client.close();
process.send?.(report, () => process.disconnect());
