/**
 * Cursor throughput of the simulator through the real driver: loads N ~1 KB documents, then
 * reads them back with `find({})` (default options, optional batch size) and prints documents/s
 * and MB/s. The simulator runs in a child process, as a real mongod would, so the driver's BSON
 * decoding and the simulator's encoding do not share one thread.
 * Usage: `npm run bench:simulator -- --docs 200000 --batch 1000 [--in-process]`.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BSON, ObjectId } from 'bson';
import { MongoClient } from 'mongodb';
import { startReplicaSet } from '../simulator/index.js';
import { orderDocument } from './documents.js';

const { values } = parseArgs({
  options: {
    docs: { type: 'string', default: '200000' },
    batch: { type: 'string' },
    rounds: { type: 'string', default: '2' },
    /** `1kb` (default) or `small` (~100 B rows, like the ClickHouse ingest figures). */
    shape: { type: 'string', default: '1kb' },
    'in-process': { type: 'boolean', default: false },
    serve: { type: 'boolean', default: false },
  },
});
const docCount = Number(values.docs);
const batchSize = values.batch === undefined ? undefined : Number(values.batch);
const rounds = Number(values.rounds);
if (!Number.isInteger(docCount) || docCount < 1)
  throw new RangeError(`--docs must be a positive integer, got ${values.docs}`);
if (values.shape !== '1kb' && values.shape !== 'small')
  throw new RangeError(`--shape must be 1kb or small, got ${values.shape}`);
if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1)) {
  throw new RangeError(`--batch must be a positive integer, got ${values.batch}`);
}

/** A ~1 KB document shaped like a typical application record, or a ~100 B row. */
function sampleDocument(i: number): Record<string, unknown> {
  if (values.shape === 'small') {
    return {
      _id: new ObjectId(),
      orderNo: i,
      sku: `SKU-${i % 977}`,
      qty: i % 10,
      price: (i % 1000) / 7,
      at: new Date(),
    };
  }
  return orderDocument(i);
}

/** Starts the simulator in this process; returns its URI and a stop function. */
async function startSimulator(): Promise<Simulator> {
  const rs = await startReplicaSet({ members: 1, noopIntervalMs: 0 });
  return { uri: rs.uri, stop: () => rs.stop() };
}

/** Runs the simulator in a child process until the parent disconnects. */
interface Simulator {
  uri: string;
  stop: () => Promise<void>;
  /** CPU time the simulator process has used so far, when it runs in its own process. */
  cpuMicros?: () => Promise<number>;
}

async function startChildSimulator(): Promise<Simulator> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], {
    execArgv: [
      ...process.execArgv,
      ...(process.env.BENCH_CHILD_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof2'] : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const uri = await new Promise<string>((resolve, reject) => {
    child.once('message', (message) => resolve(String(message)));
    child.once('exit', (code) => reject(new Error(`simulator child exited with ${code}`)));
  });
  return {
    uri,
    cpuMicros: () =>
      new Promise<number>((resolve) => {
        child.once('message', (message) => resolve(Number((message as { cpuMicros: number }).cpuMicros)));
        child.send('cpu');
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || !child.connected) {
          resolve();
          return;
        }
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}

if (values.serve) {
  const simulator = await startSimulator();
  process.send?.(simulator.uri);
  // The parent asks for our CPU time around each read to report what the simulator itself costs.
  process.on('message', (message) => {
    if (message === 'cpu') {
      const usage = process.cpuUsage();
      process.send?.({ cpuMicros: usage.user + usage.system });
    }
  });
  process.once('disconnect', () => {
    void simulator.stop().then(() => process.exit(0));
  });
} else {
  await runBenchmark();
}

async function runBenchmark(): Promise<void> {
  const simulator = values['in-process'] ? await startSimulator() : await startChildSimulator();
  const client = new MongoClient(simulator.uri);
  try {
    await client.connect();
    const coll = client.db('bench').collection('docs');
    const avgSize = BSON.calculateObjectSize(sampleDocument(1));
    const loadCpuBefore = await simulator.cpuMicros?.();
    const loadStart = performance.now();
    for (let start = 0; start < docCount; start += 10_000) {
      const batch = Array.from({ length: Math.min(10_000, docCount - start) }, (_, k) =>
        sampleDocument(start + k),
      );
      await coll.insertMany(batch, { ordered: true });
    }
    const loadSeconds = (performance.now() - loadStart) / 1000;
    console.log(
      `loaded ${docCount} docs (~${avgSize} B each) in ${loadSeconds.toFixed(2)} s: ${Math.round(docCount / loadSeconds)} docs/s`,
    );
    const loadCpuAfter = await simulator.cpuMicros?.();
    if (loadCpuBefore !== undefined && loadCpuAfter !== undefined) {
      const cpuSeconds = (loadCpuAfter - loadCpuBefore) / 1e6;
      console.log(
        `  simulator CPU ${cpuSeconds.toFixed(2)} s: ${Math.round(docCount / cpuSeconds)} inserts/s of its own time`,
      );
    }
    for (let round = 1; round <= rounds; round += 1) {
      const cpuBefore = await simulator.cpuMicros?.();
      const readStart = performance.now();
      const cursor = coll.find({}, batchSize === undefined ? {} : { batchSize });
      let read = 0;
      for await (const _doc of cursor) read += 1;
      const seconds = (performance.now() - readStart) / 1000;
      if (read !== docCount) throw new Error(`read ${read} documents, expected ${docCount}`);
      const mb = (read * avgSize) / (1024 * 1024);
      console.log(
        `round ${round}: read ${read} docs (batchSize ${batchSize ?? 'default'}) in ${seconds.toFixed(2)} s: ` +
          `${Math.round(read / seconds)} docs/s, ${(mb / seconds).toFixed(1)} MB/s`,
      );
      const cpuAfter = await simulator.cpuMicros?.();
      if (cpuBefore !== undefined && cpuAfter !== undefined) {
        const cpuSeconds = (cpuAfter - cpuBefore) / 1e6;
        console.log(
          `  simulator CPU ${cpuSeconds.toFixed(2)} s: it alone could serve ${Math.round(read / cpuSeconds)} docs/s ` +
            `(${(mb / cpuSeconds).toFixed(1)} MB/s); the rest of the time is the driver decoding`,
        );
      }
    }
  } finally {
    await client.close();
    await simulator.stop();
  }
}
