/**
 * The fault matrix: every workload × every fault, each run to convergence against the real
 * stand-ins (simulator replica set, dynalite, embedded ClickHouse), then ClickHouse FINAL
 * compared with MongoDB by `_id` and canonical document hash. One row per case, then
 * `faults: N passed, N failed`; exits 1 when a case fails.
 *
 * Usage: `npm run faults [-- --short] [--workload NAME] [--fault NAME] [--topology sharded]`.
 * `--short` (CI) runs every fault once, each with another workload. `--topology sharded` runs
 * the faults that apply to a sharded cluster against one (test/faults/sharded.ts).
 */

import { parseArgs } from 'node:util';
import { startWorld, type World } from '../e2e/harness.js';
import type { ShardedWorld } from '../support/sharded-world.js';
import { FAULTS, type Fault } from './faults.js';
import { compareAll, prepareCase } from './run-case.js';
import { restoreShards, SHARDED_KILLS, shardStepDown, startShardedFaultWorld } from './sharded.js';
import { WORKLOADS, type Workload } from './workloads.js';

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    workload: { type: 'string', multiple: true },
    fault: { type: 'string', multiple: true },
    topology: { type: 'string', default: 'replicaSet' },
  },
});
if (values.topology !== 'replicaSet' && values.topology !== 'sharded')
  throw new RangeError(`unknown topology ${values.topology}; one of: replicaSet, sharded`);
const sharded: ShardedWorld | null = values.topology === 'sharded' ? await startShardedFaultWorld() : null;
/** On a sharded cluster: the kills, and a shard step-down in the place of the replica set's. */
const applicable: readonly Fault[] = sharded
  ? [
      ...FAULTS.filter((fault) => (SHARDED_KILLS as readonly string[]).includes(fault.name)),
      shardStepDown(sharded.cluster),
    ]
  : FAULTS;

function selected<T extends { name: string }>(
  all: readonly T[],
  names: string[] | undefined,
  what: string,
): T[] {
  if (!names) return [...all];
  for (const name of names) {
    if (!all.some((item) => item.name === name))
      throw new RangeError(`unknown ${what} ${name}; one of: ${all.map((item) => item.name).join(', ')}`);
  }
  return all.filter((item) => names.includes(item.name));
}

const workloads = selected(WORKLOADS, values.workload, 'workload');
const faults = selected(applicable, values.fault, 'fault');
const cases: [Workload, Fault][] = values.short
  ? faults.map((fault, n) => [workloads[n % workloads.length] as Workload, fault])
  : workloads.flatMap((workload) => faults.map((fault): [Workload, Fault] => [workload, fault]));

const CASE_TIMEOUT_MS = 120_000;

interface Row {
  workload: string;
  fault: string;
  result: 'pass' | 'FAIL';
  lost: number;
  duplicated: number;
  detail: string;
}

async function runCase(world: World, workload: Workload, fault: Fault, index: number): Promise<Row> {
  const started = Date.now();
  const row: Row = {
    workload: workload.name,
    fault: fault.name,
    result: 'FAIL',
    lost: 0,
    duplicated: 0,
    detail: '',
  };
  const settings = { ...workload.settings, ...fault.settings };
  const run = await prepareCase(world, workload, `fm${index}`, settings, 1000 + index);
  try {
    const problems = await withTimeout(fault.run(run), CASE_TIMEOUT_MS, `${workload.name} × ${fault.name}`);
    const outcome = await compareAll(run);
    row.lost = outcome.lost;
    row.duplicated = outcome.duplicated;
    if (outcome.extra > 0) problems.push(`${outcome.extra} deleted documents still live`);
    if (outcome.documents === 0) problems.push('no documents compared');
    row.result = problems.length === 0 && outcome.lost === 0 && outcome.duplicated === 0 ? 'pass' : 'FAIL';
    const retried = run.notes.length > 0 ? `; ${summarize(run.notes)}` : '';
    row.detail = `${outcome.documents} docs, ${((Date.now() - started) / 1000).toFixed(1)} s${retried}${
      problems.length > 0 ? `; ${problems.join('; ')}` : ''
    }`;
  } catch (error) {
    row.detail = `error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
    if (process.env.FAULTS_DEBUG) console.error(error);
  } finally {
    await run.pipeClient.close().catch(() => undefined);
    await (sharded ? restoreShards(sharded.cluster) : restoreTopology(world));
  }
  return row;
}

/** Notes counted by kind, e.g. "cdc: lease held by a dead run, waited out ×2". */
function summarize(notes: string[]): string {
  const counts = new Map<string, number>();
  for (const note of notes) counts.set(note, (counts.get(note) ?? 0) + 1);
  return [...counts].map(([note, count]) => (count > 1 ? `${note} ×${count}` : note)).join(', ');
}

/** Every member back to a healthy state and a primary elected, so the next case starts clean. */
async function restoreTopology(world: World): Promise<void> {
  world.rs.failPoints().configure('failCommand', 'off');
  for (const member of world.rs.members) {
    if (member.state !== 'PRIMARY' && member.state !== 'SECONDARY')
      world.rs.setMemberState(member.name, 'SECONDARY');
  }
  await world.rs.waitForPrimary(10_000);
}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const started = Date.now();
const world = sharded?.world ?? (await startWorld());
const rows: Row[] = [];
let exitCode = 0;
try {
  console.log(
    `fault matrix: ${cases.length} cases${values.short ? ' (short form)' : ''}${sharded ? ', sharded cluster (2 shards × 3, 2 mongos)' : ''}`,
  );
  console.log(['workload', 'fault', 'result', 'lost', 'duplicated', 'detail'].join('\t'));
  for (const [index, [workload, fault]] of cases.entries()) {
    const row = await runCase(world, workload, fault, index);
    rows.push(row);
    console.log([row.workload, row.fault, row.result, row.lost, row.duplicated, row.detail].join('\t'));
  }
} finally {
  await world.stop();
}
const failed = rows.filter((row) => row.result !== 'pass').length;
if (failed > 0 || rows.length !== cases.length) exitCode = 1;
console.log(`fault matrix took ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(`faults: ${rows.length - failed} passed, ${failed} failed`);
process.exit(exitCode);
