/** Command-line flags of `npm run bench`. */
import { parseArgs } from 'node:util';
import type { SustainedOptions } from './sustained.js';

export const SECTIONS = ['snapshot', 'drain', 'replay', 'lag', 'rss', 'sustained'] as const;
export type Section = (typeof SECTIONS)[number];
/**
 * What runs without --only: `sustained` lasts about half an hour, so it runs only when named.
 * `drain` prints both CDC drain figures (through the simulator, and the product alone over the
 * replay); `replay` only the product-alone one.
 */
export const DEFAULT_SECTIONS: readonly Section[] = ['snapshot', 'drain', 'lag', 'rss'];

export interface BenchOptions {
  /** Documents of the snapshot collection (the large RSS collection too; the small one is a tenth). */
  docs: number;
  /** Events of the CDC backlog (the large RSS backlog too; the small one is a tenth). */
  events: number;
  /** Writes per second of the steady load, and how long it lasts. */
  lagRate: number;
  lagSeconds: number;
  /** How long each CDC batch of the lag run may read (its budget deadline minus the margin). */
  lagWindowMs: number;
  /** Rows per snapshot batch and events per CDC batch in the RSS runs. */
  rssBatch: number;
  /** The RSS section's snapshot runs only: no CDC backlog written, no CDC runs. */
  rssSnapshotOnly: boolean;
  sections: Set<Section>;
  /** CPU-profile the product's snapshot chunk. */
  profile: boolean;
  /** Typed columns of a second product snapshot run (0: none), to compare its CPU per document. */
  columns: number;
  /** Measured runs of the product-alone CDC drain, and where its recording is kept (reused when there). */
  replayRuns: number;
  replayFile: string | undefined;
  /** The sustained-load section (only with --only sustained). */
  sustained: SustainedOptions;
}

const HELP = `npm run bench -- [flags]
  --docs N         snapshot collection size (default 200000; quick 20000)
  --events N       CDC backlog of mixed events (default 100000; quick 10000)
  --lag-rate N     steady writes per second during the lag run (default 300)
  --lag-seconds N  length of the steady write load (default 20; quick 5)
  --lag-window-ms N  longest read of each CDC batch in the lag run (default 1000)
  --rss-batch N    snapshotBatchMaxRows / pullBatchSize in the peak-RSS runs (default 10000; quick 2000)
  --rss-snapshot-only  the rss section without its CDC runs (no backlog to write: minutes faster)
  --only LIST      comma-separated subset of ${SECTIONS.join(',')} (default: ${DEFAULT_SECTIONS.join(',')};
                   drain = through the simulator and the product alone, replay = the product alone only)
  --replay-runs N  measured runs of the product-alone CDC drain, then one profiled run (default 3; quick 2)
  --replay-file F  keep the recorded change stream in F, and replay F without recording when it exists
  --profile        CPU-profile the product's snapshot chunk (adds some overhead to that figure)
  --columns N      snapshot section: also run the product with N typed columns (1-12) and print its CPU
                   per document beside the run without (default 0: no second run)
  --quick          small sizes, for a check that everything runs (about a minute; sustained: about 9)
sustained section (--only sustained; about 30 minutes with the defaults, 3-4.5 more per extra ramp step):
  --sustained-backlog N   inserts drained by the one run of the drain-rate phase (default 100000; quick 30000)
  --sustained-rate N      inserts/s of the steady and continuous phases (default 1000)
  --sustained-minutes N   intervals of the steady phase (default 5; quick 2)
  --ramp-from N           first rate of the ramp (default 0: half the drain rate, rounded down to the step, ≥ 2000)
  --ramp-step N           increase per ramp step until a step is not sustained (default 1000; quick 2000)
  --ramp-bisect N         bisection steps after the first failure (default 2; quick 0)
  --ramp-max-steps N      most linear ramp steps (default 12; quick 2)
  --ramp-step-minutes N   intervals per ramp step (default 3; quick 2)
  --continuous-minutes N  intervals of the continuous phase (default 2; quick 1)
  --oplog-mib N           capped oplog of the section's simulator (default 1024)
  --minute-ms N           length of a schedule minute (default 60000; shorter only to try the section out)`;

export function parseOptions(argv: string[] = process.argv.slice(2)): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      docs: { type: 'string' },
      events: { type: 'string' },
      'lag-rate': { type: 'string' },
      'lag-seconds': { type: 'string' },
      'lag-window-ms': { type: 'string' },
      'rss-batch': { type: 'string' },
      'replay-runs': { type: 'string' },
      'replay-file': { type: 'string' },
      only: { type: 'string' },
      'sustained-backlog': { type: 'string' },
      'sustained-rate': { type: 'string' },
      'sustained-minutes': { type: 'string' },
      'ramp-from': { type: 'string' },
      'ramp-step': { type: 'string' },
      'ramp-bisect': { type: 'string' },
      'ramp-max-steps': { type: 'string' },
      'ramp-step-minutes': { type: 'string' },
      'continuous-minutes': { type: 'string' },
      'oplog-mib': { type: 'string' },
      'minute-ms': { type: 'string' },
      quick: { type: 'boolean', default: false },
      'rss-snapshot-only': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      columns: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const quick = values.quick ?? false;
  const sections = new Set<Section>();
  for (const name of (values.only ?? DEFAULT_SECTIONS.join(',')).split(',')) {
    if (!(SECTIONS as readonly string[]).includes(name))
      throw new RangeError(`--only: unknown section ${name} (${SECTIONS.join(', ')})`);
    sections.add(name as Section);
  }
  return {
    docs: positive('docs', values.docs, quick ? 20_000 : 200_000),
    events: positive('events', values.events, quick ? 10_000 : 100_000),
    lagRate: positive('lag-rate', values['lag-rate'], 300),
    lagSeconds: positive('lag-seconds', values['lag-seconds'], quick ? 5 : 20),
    lagWindowMs: positive('lag-window-ms', values['lag-window-ms'], 1_000),
    rssBatch: positive('rss-batch', values['rss-batch'], quick ? 2_000 : 10_000),
    rssSnapshotOnly: values['rss-snapshot-only'] ?? false,
    sections,
    profile: values.profile ?? false,
    columns: columnCount(values.columns),
    replayRuns: atLeast('replay-runs', values['replay-runs'], quick ? 2 : 3, 1),
    replayFile: values['replay-file'],
    sustained: {
      backlog: positive('sustained-backlog', values['sustained-backlog'], quick ? 30_000 : 100_000),
      rate: positive('sustained-rate', values['sustained-rate'], 1_000),
      minutes: atLeast('sustained-minutes', values['sustained-minutes'], quick ? 2 : 5, 1),
      rampFrom: atLeast('ramp-from', values['ramp-from'], 0, 0),
      rampStep: positive('ramp-step', values['ramp-step'], quick ? 2_000 : 1_000),
      rampBisect: atLeast('ramp-bisect', values['ramp-bisect'], quick ? 0 : 2, 0),
      rampMaxSteps: atLeast('ramp-max-steps', values['ramp-max-steps'], quick ? 2 : 12, 1),
      stepMinutes: atLeast('ramp-step-minutes', values['ramp-step-minutes'], quick ? 2 : 3, 2),
      continuousMinutes: atLeast('continuous-minutes', values['continuous-minutes'], quick ? 1 : 2, 1),
      oplogMiB: atLeast('oplog-mib', values['oplog-mib'], 1_024, 16),
      minuteMs: atLeast('minute-ms', values['minute-ms'], 60_000, 1_000),
    },
  };
}

function atLeast(name: string, given: string | undefined, fallback: number, minimum: number): number {
  if (given === undefined) return fallback;
  const value = Number(given);
  if (!Number.isInteger(value) || value < minimum)
    throw new RangeError(`--${name} must be an integer of at least ${minimum}, got ${given}`);
  return value;
}

function positive(name: string, given: string | undefined, fallback: number): number {
  if (given === undefined) return fallback;
  const value = Number(given);
  if (!Number.isInteger(value) || value < 10)
    throw new RangeError(`--${name} must be an integer of at least 10, got ${given}`);
  return value;
}

function columnCount(given: string | undefined): number {
  if (given === undefined) return 0;
  const value = Number(given);
  if (!Number.isInteger(value) || value < 1 || value > 12)
    throw new RangeError(`--columns must be an integer from 1 to 12, got ${given}`);
  return value;
}
