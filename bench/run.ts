/**
 * `npm run bench`: prints snapshot, CDC and memory figures of the product path on the embedded
 * stand-ins (all on 127.0.0.1), and stops everything it started. Asserts no times. See
 * docs/performance.md for what each figure means and the last recorded run.
 */
import { existsSync } from 'node:fs';
import { type CdcBacklog, type DrainFigures, drainBenchmark, writeBacklog } from './cdc-drain.js';
import { type LagFigures, lagBenchmark } from './cdc-lag.js';
import { eventsPerCoreSecond, microsPerEvent, type ReplayFigures, replayBenchmark } from './cdc-replay.js';
import { parseOptions } from './options.js';
import { killChildren } from './processes.js';
import { loadAverage, machineHeader, mbPerSecond, perSecond, seconds, section } from './report.js';
import { loadSmallCollection, type RssRun, rssBenchmark } from './rss.js';
import { loadSnapshotCollection, type SnapshotFigures, snapshotBenchmark } from './snapshot.js';
import { type SustainedFigures, sustainedBenchmark } from './sustained.js';
import { ratioVerdict } from './sustained-ramp.js';
import { startWorld } from './world.js';

const options = parseOptions();
const started = performance.now();
for (const line of machineHeader()) console.log(line);
const smallDocs = Math.round(options.docs / 10);
console.log(
  `sizes: snapshot ${options.docs} docs (RSS also ${smallDocs}), CDC backlog ${options.events} events, ` +
    `steady load ${options.lagRate}/s for ${options.lagSeconds} s, RSS batch ${options.rssBatch}; ` +
    `sections: ${[...options.sections].join(', ')}`,
);
if (options.sections.has('sustained')) {
  const s = options.sustained;
  console.log(
    `sustained: drain backlog ${s.backlog} inserts; steady ${s.rate}/s for ${s.minutes} intervals; ramp from ` +
      `${s.rampFrom > 0 ? `${s.rampFrom}/s` : 'half the drain rate'} by ${s.rampStep}/s (≤ ${s.rampMaxSteps} steps, ${s.rampBisect} bisections), ` +
      `${s.stepMinutes} intervals each; continuous ${s.rate}/s for ${s.continuousMinutes} intervals; ` +
      `oplog ${s.oplogMiB} MiB; schedule minute ${s.minuteMs} ms`,
  );
}

const world = await startWorld();
// Once only: on Ctrl-C the section in flight may fail at once (its children killed) and reach the
// `finally` below while the signal handler is still stopping the stand-ins.
let stopped: Promise<void> | undefined;
const stopWorld = () => {
  stopped ??= world.stop();
  return stopped;
};
const stopOnSignal = () => {
  console.log('\nstopping: ending child processes and the stand-ins');
  killChildren();
  void stopWorld().finally(() => process.exit(130));
};
process.once('SIGINT', stopOnSignal);
process.once('SIGTERM', stopOnSignal);
let snapshot: SnapshotFigures | undefined;
let drain: DrainFigures | undefined;
let replay: ReplayFigures | undefined;
let lag: LagFigures | undefined;
let rss: RssRun[] | undefined;
let sustained: SustainedFigures | undefined;
try {
  console.log(
    `ClickHouse ${world.clickhouse.version} (chDB) in its own process, the simulator in its own process, ` +
      'dynalite in this one; all on 127.0.0.1',
  );
  const { sections } = options;
  if (sections.has('snapshot') || sections.has('rss')) {
    section('setup');
    await loadSnapshotCollection(world, options.docs);
    if (sections.has('rss')) await loadSmallCollection(world, smallDocs);
  }
  if (sections.has('snapshot')) {
    section(`1. snapshot path: one chunk over ${options.docs} documents of ~1 KB, next to the raw limits`);
    snapshot = await snapshotBenchmark(world, options.docs, options.profile, options.columns);
  }
  let backlog: CdcBacklog | undefined;
  const replays = sections.has('drain') || sections.has('replay');
  const recorded = options.replayFile !== undefined && existsSync(options.replayFile);
  const rssCdc = sections.has('rss') && !options.rssSnapshotOnly;
  if (sections.has('drain') || rssCdc || (replays && !recorded)) {
    section(`2. CDC drain: a backlog of ${options.events} mixed events`);
    backlog = await writeBacklog(world, options.events, options.rssBatch);
  }
  if (sections.has('drain') && backlog) {
    section(
      '2a. CDC drain through the simulator (simulator-bound: the simulator serving the stream is the limit)',
    );
    drain = await drainBenchmark(world, backlog);
  }
  if (replays) {
    section('2b. CDC drain, the product alone: the recorded stream served from memory, inserts discarded');
    replay = await replayBenchmark(world, backlog, { runs: options.replayRuns, file: options.replayFile });
  }
  if (sections.has('lag')) {
    section(`3. CDC lag under a steady load of ${options.lagRate} writes/s for ${options.lagSeconds} s`);
    lag = await lagBenchmark(world, options.lagRate, options.lagSeconds, options.lagWindowMs);
  }
  if (sections.has('rss')) {
    section('4. peak RSS, each run in a fresh process');
    rss = await rssBenchmark(world, { docs: options.docs, smallDocs, rssBatch: options.rssBatch }, backlog);
  }
  if (sections.has('sustained')) {
    section('5. sustained load on the real CDC scheduling path');
    sustained = await sustainedBenchmark(world, options.sustained);
  }
} finally {
  await stopWorld();
  process.off('SIGINT', stopOnSignal);
  process.off('SIGTERM', stopOnSignal);
}

section('summary');
if (snapshot) {
  const s = snapshot;
  const line = (name: string, docs: number, bytes: number, wall: number) =>
    console.log(
      `${name.padEnd(22)} ${perSecond(docs, wall).padStart(7)} docs/s ${mbPerSecond(bytes, wall).padStart(6)} MB/s`,
    );
  line('snapshot product', s.docs, s.product.bsonBytes, s.product.seconds);
  line('raw read (a)', s.docs, s.read.bsonBytes, s.read.seconds);
  line('raw write (b)', s.docs, s.write.bsonBytes, s.write.seconds);
  console.log(
    `${'ratio product/min'.padEnd(22)} ${s.ratio.toFixed(2)}   (bench process CPU in the product run: ` +
      `${(s.product.cpu.bench / s.product.seconds).toFixed(2)} of a core)`,
  );
}
if (drain) {
  console.log(
    `${'CDC drain, simulator'.padEnd(22)} ${perSecond(drain.events, drain.seconds).padStart(7)} events/s ` +
      `(${drain.events} events, ${drain.batches} batches, ${seconds(drain.seconds)} s)`,
  );
}
if (replay) {
  const { median } = replay;
  console.log(
    `${'CDC product alone'.padEnd(22)} ${perSecond(median.events, median.cpuUser + median.cpuSystem).padStart(7)} events/s per core ` +
      `of product CPU, ${microsPerEvent(median).toFixed(1)} µs per event (median of ${replay.runs.filter((r) => !r.profiled).length} runs; ` +
      `${perSecond(median.events, median.wallSeconds)} events/s wall; target ≥ 50,000 and ≤ 20 µs: ` +
      `${eventsPerCoreSecond(median) >= 50_000 && microsPerEvent(median) <= 20 ? 'met' : 'not met'})`,
  );
}
if (lag) {
  console.log(
    `${'CDC lag'.padEnd(22)} p50 ${lag.p50} ms, p99 ${lag.p99} ms, max ${lag.max} ms at ${lag.achievedRate.toFixed(0)} writes/s`,
  );
}
if (rss) {
  for (const run of rss) {
    console.log(
      `${'peak RSS'.padEnd(22)} ${(run.report.maxRssKb / 1024).toFixed(0).padStart(5)} MiB  ${run.label}, ${run.size}`,
    );
  }
}
if (sustained) {
  const { drain, steady, ramp, continuous } = sustained;
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  console.log(
    `${'sustained: drain'.padEnd(22)} ${perSecond(drain.events, drain.seconds).padStart(7)} events/s (one run)`,
  );
  console.log(
    `${'sustained: steady'.padEnd(22)} ${Math.round(steady.rate)}/s: lag p50 ${s(steady.lag.p50)}, p99 ${s(steady.lag.p99)}, ` +
      `max ${s(steady.lag.max)} (target ≤ ${s(steady.targetLagMs)}); backlog 0 ` +
      `${steady.drainOutSeconds === null ? 'not reached' : `${steady.drainOutSeconds.toFixed(1)} s`} after the writer stopped`,
  );
  console.log(
    `${'sustained: ramp'.padEnd(22)} ` +
      (ramp.highest
        ? `highest sustained ${Math.round(ramp.highest.achieved)}/s = ${(ramp.ratio ?? 0).toFixed(2)} × the drain rate ` +
          `(target ≥ 0.8: ${ratioVerdict(ramp.ratio, ramp.ceilingFound)})`
        : 'no rate sustained'),
  );
  console.log(
    `${'sustained: continuous'.padEnd(22)} ${Math.round(continuous.rate)}/s at 2 s: lag p50 ${s(continuous.lag.p50)}, ` +
      `p99 ${s(continuous.lag.p99)} (target ≤ 5 s), max ${s(continuous.lag.max)}`,
  );
}
console.log(
  `load average at end: ${loadAverage()}; wall time ${((performance.now() - started) / 1000).toFixed(0)} s`,
);
