/**
 * The write load of the sustained section, in its own process (like an application): `rate`
 * inserts of new ~1 KB order documents per second for `seconds`. Every 10 ms it inserts what the
 * schedule owes by then as one ordered insertMany (about rate / 100 documents; at most
 * MAX_IN_FLIGHT of them at once), so high rates stay reachable. Document n has `_id` n. Each
 * group's acknowledgement time goes to the parent every 100 ms as [first _id, count, epoch ms];
 * at the end a summary. Exits when the parent disconnects.
 */
import { MongoClient } from 'mongodb';
import { orderDocument } from './documents.js';

export interface SustainedWriterConfig {
  uri: string;
  db: string;
  coll: string;
  rate: number;
  seconds: number;
}

export type SustainedWriterMessage =
  | { kind: 'ready' }
  /** Flattened triples: first `_id`, count, epoch ms of the acknowledgement. */
  | { kind: 'acks'; groups: number[] }
  | { kind: 'done'; summary: SustainedWriterSummary };

export interface SustainedWriterSummary {
  issued: number;
  acked: number;
  failed: number;
  /** From 'go' to the last acknowledgement. */
  wallSeconds: number;
  /** The most documents ever due but not yet sent (all MAX_IN_FLIGHT inserts busy): the source did not keep up. */
  maxBehind: number;
  cpuSeconds: number;
}

const TICK_MS = 10;
const FLUSH_MS = 100;
const MAX_IN_FLIGHT = 8;
const MAX_GROUP = 2_000;

// The parent gone (or done with us): stop at once, whatever is in flight.
process.once('disconnect', () => process.exit(0));
if (!process.connected) process.exit(0);
const config = JSON.parse(process.env.BENCH_SUSTAINED_WRITER ?? '{}') as SustainedWriterConfig;
const client = new MongoClient(config.uri);
await client.connect();
const collection = client.db(config.db).collection<{ _id: number; [key: string]: unknown }>(config.coll);
const send = (message: SustainedWriterMessage) => process.send?.(message);
send({ kind: 'ready' });
await new Promise((resolve) => process.once('message', resolve));

const cpuBefore = process.cpuUsage();
let pending: number[] = [];
let acked = 0;
let failed = 0;
let issued = 0;
let inFlight = 0;
let maxBehind = 0;
let lastAck = Date.now();
const total = Math.round(config.rate * config.seconds);
const started = Date.now();

function insertGroup(first: number, count: number): void {
  const documents = Array.from({ length: count }, (_, k) => orderDocument(first + k, first + k));
  inFlight += 1;
  collection
    .insertMany(documents as { _id: number }[], { ordered: true })
    .then(
      () => {
        lastAck = Date.now();
        acked += count;
        pending.push(first, count, lastAck);
      },
      () => {
        failed += count;
      },
    )
    .finally(() => {
      inFlight -= 1;
    });
}

const flusher = setInterval(() => {
  if (pending.length === 0) return;
  send({ kind: 'acks', groups: pending });
  pending = [];
}, FLUSH_MS);

while (issued < total) {
  const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * config.rate));
  while (issued < due && inFlight < MAX_IN_FLIGHT) {
    const count = Math.min(MAX_GROUP, due - issued);
    insertGroup(issued, count);
    issued += count;
  }
  maxBehind = Math.max(maxBehind, due - issued);
  await new Promise((resolve) => setTimeout(resolve, TICK_MS));
}
while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, TICK_MS));
clearInterval(flusher);
if (pending.length > 0) send({ kind: 'acks', groups: pending });
const cpu = process.cpuUsage(cpuBefore);
await client.close();
send({
  kind: 'done',
  summary: {
    issued,
    acked,
    failed,
    wallSeconds: (lastAck - started) / 1000,
    maxBehind,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  },
});
