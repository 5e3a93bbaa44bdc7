/**
 * Per-document CPU of turning a raw snapshot document into its JSONEachRow line, on one core:
 *
 * - today:            BSON.deserialize(DESERIALIZE_OPTIONS) → snapshotRow → toJsonEachRowLine,
 *                     lines appended to a string chunk as rows-body does;
 * - transcoder text:  snapshotLine(bytes) (raw BSON → line as a string), same string chunk;
 * - transcoder bytes: appendSnapshotLine into one JsonSink per 1 MB chunk (bytes ready to send).
 *
 * Documents: bench/documents.ts orderDocument (~1 KB), serialised once into one buffer and
 * handed over as the driver's `raw: true` cursor does (a Buffer view per document). Each path
 * runs WARMUP documents, then is timed over all of them with process.cpuUsage (user + system),
 * for both `doc` column types. GC share = GC pause time PerformanceObserver reports during the
 * timed run, over its CPU time.
 *
 *   npx tsx bench/transcode.ts [documents=200000]
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { BSON } from 'mongodb';
import { DESERIALIZE_OPTIONS } from '../functions/adapters/mongodb/snapshot-source.js';
import { appendSnapshotLine, JsonSink, snapshotLine } from '../functions/core/bson-transcode.js';
import { snapshotRow, toJsonEachRowLine } from '../functions/core/rows.js';
import { orderDocument } from './documents.js';

const DOCS = Number(process.argv[2] ?? 200_000);
const WARMUP = 20_000;
const CHUNK_BYTES = 1024 * 1024;

function documents(count: number): Buffer[] {
  const encoded = Array.from({ length: count }, (_, n) => BSON.serialize(orderDocument(n)));
  const all = Buffer.concat(encoded);
  const views: Buffer[] = [];
  let at = 0;
  for (const doc of encoded) {
    views.push(all.subarray(at, at + doc.length));
    at += doc.length;
  }
  return views;
}

type Path = (docs: Buffer[], native: boolean) => number;

/** Returns the bytes of output, so that nothing is optimised away. */
const today: Path = (docs, native) => {
  let chunk = '';
  let out = 0;
  for (const raw of docs) {
    const row = snapshotRow('orders', BSON.deserialize(raw, DESERIALIZE_OPTIONS));
    chunk += `${toJsonEachRowLine(row, native)}\n`;
    if (chunk.length >= CHUNK_BYTES) {
      out += chunk.length;
      chunk = '';
    }
  }
  return out + chunk.length;
};

const transcoderText: Path = (docs, native) => {
  let chunk = '';
  let out = 0;
  for (const raw of docs) {
    chunk += `${snapshotLine(raw, native)}\n`;
    if (chunk.length >= CHUNK_BYTES) {
      out += chunk.length;
      chunk = '';
    }
  }
  return out + chunk.length;
};

const transcoderBytes: Path = (docs, native) => {
  const sink = new JsonSink(2 * CHUNK_BYTES);
  let out = 0;
  for (const raw of docs) {
    appendSnapshotLine(sink, raw, native);
    sink.ensure(1);
    sink.buf[sink.pos++] = 0x0a;
    if (sink.pos >= CHUNK_BYTES) {
      out += sink.pos;
      sink.reset();
    }
  }
  return out + sink.pos;
};

let gcMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
}).observe({ entryTypes: ['gc'] });

interface Figure {
  cpuUsPerDoc: number;
  gcShare: number;
  mbPerCpuSecond: number;
  outBytes: number;
}

const flushed = () => new Promise<void>((resolve) => setTimeout(resolve, 10));

async function measure(path: Path, docs: Buffer[], native: boolean, bsonBytes: number): Promise<Figure> {
  path(docs.slice(0, WARMUP), native);
  await flushed();
  gcMs = 0;
  const cpu = process.cpuUsage();
  const outBytes = path(docs, native);
  const used = process.cpuUsage(cpu);
  await flushed();
  const cpuUs = used.user + used.system;
  return {
    cpuUsPerDoc: cpuUs / docs.length,
    gcShare: (gcMs * 1000) / cpuUs,
    mbPerCpuSecond: bsonBytes / 1e6 / (cpuUs / 1e6),
    outBytes,
  };
}

async function main(): Promise<void> {
  const docs = documents(DOCS);
  const bsonBytes = docs.reduce((sum, doc) => sum + doc.length, 0);
  console.log(
    `${DOCS} documents, ${(bsonBytes / DOCS).toFixed(0)} BSON bytes each on average (bench/documents.ts orderDocument)`,
  );
  const paths: [string, Path][] = [
    ['today (deserialize + snapshotRow + toJsonEachRowLine)', today],
    ['transcoder, line as string (snapshotLine)', transcoderText],
    ['transcoder, line bytes into a JsonSink (appendSnapshotLine)', transcoderBytes],
  ];
  for (const native of [true, false]) {
    console.log(
      `\ndoc column ${native ? 'JSON (useJsonNativeFormat: true)' : 'String (useJsonNativeFormat: false)'}`,
    );
    for (const [name, path] of paths) {
      const figure = await measure(path, docs, native, bsonBytes);
      console.log(
        `  ${name.padEnd(62)} ${figure.cpuUsPerDoc.toFixed(2).padStart(6)} µs CPU/doc` +
          `  ${figure.mbPerCpuSecond.toFixed(0).padStart(4)} MB/s of BSON per CPU second` +
          `  GC ${(figure.gcShare * 100).toFixed(0).padStart(2)}%  (${(figure.outBytes / 1e6).toFixed(0)} MB out)`,
      );
    }
  }
}

await main();
