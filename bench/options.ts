/** Command-line flags of `npm run bench`. */
import { parseArgs } from 'node:util';

export const SECTIONS = ['snapshot', 'drain', 'lag', 'rss'] as const;
export type Section = (typeof SECTIONS)[number];

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
  sections: Set<Section>;
  /** CPU-profile the product's snapshot chunk. */
  profile: boolean;
}

const HELP = `npm run bench -- [flags]
  --docs N         snapshot collection size (default 200000; quick 20000)
  --events N       CDC backlog of mixed events (default 100000; quick 10000)
  --lag-rate N     steady writes per second during the lag run (default 300)
  --lag-seconds N  length of the steady write load (default 20; quick 5)
  --lag-window-ms N  longest read of each CDC batch in the lag run (default 1000)
  --rss-batch N    snapshotBatchMaxRows / pullBatchSize in the peak-RSS runs (default 10000; quick 2000)
  --only LIST      comma-separated subset of ${SECTIONS.join(',')}
  --profile        CPU-profile the product's snapshot chunk (adds some overhead to that figure)
  --quick          small sizes, for a check that everything runs (about a minute)`;

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
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const quick = values.quick ?? false;
  const sections = new Set<Section>();
  for (const name of (values.only ?? SECTIONS.join(',')).split(',')) {
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
    sections,
    profile: values.profile ?? false,
  };
}

function positive(name: string, given: string | undefined, fallback: number): number {
  if (given === undefined) return fallback;
  const value = Number(given);
  if (!Number.isInteger(value) || value < 10)
    throw new RangeError(`--${name} must be an integer of at least 10, got ${given}`);
  return value;
}
