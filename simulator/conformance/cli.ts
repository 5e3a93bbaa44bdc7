/**
 * `npm run conformance -- <dir> [--filter <substring>] [--min-pass-rate <0..1>] [--timeout-ms <n>] [--topology replicaset|sharded] [--strict]`
 * Runs the unified-format spec tests under <dir> against a fresh simulator per file, or
 * against `MONGODB_URI` when it is set. `--strict`: no driver deviation tolerated
 * (driver-deviations.ts).
 */
import { parseArgs } from 'node:util';
import { passRate, runConformance, summaryLine } from './runner.js';

function fail(message: string): never {
  process.stderr.write(`conformance: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      filter: { type: 'string' },
      'min-pass-rate': { type: 'string' },
      'timeout-ms': { type: 'string' },
      topology: { type: 'string' },
      strict: { type: 'boolean' },
    },
  });
  const dir = positionals[0];
  if (!dir || positionals.length > 1)
    fail(
      'usage: conformance <dir> [--filter s] [--min-pass-rate r] [--timeout-ms n] [--topology replicaset|sharded] [--strict]',
    );
  const minPassRate = values['min-pass-rate'] === undefined ? 0 : Number(values['min-pass-rate']);
  if (!(minPassRate >= 0 && minPassRate <= 1)) fail('--min-pass-rate must be a number between 0 and 1');
  const timeoutMs = values['timeout-ms'] === undefined ? 30_000 : Number(values['timeout-ms']);
  if (!(Number.isInteger(timeoutMs) && timeoutMs > 0)) fail('--timeout-ms must be a positive integer');

  const topology = values.topology ?? 'replicaset';
  if (topology !== 'replicaset' && topology !== 'sharded') fail('--topology must be replicaset or sharded');
  const summary = await runConformance({
    topology,
    dir,
    externalUri: process.env.MONGODB_URI || undefined,
    filter: values.filter,
    testTimeoutMs: timeoutMs,
    strict: values.strict === true,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`${summaryLine(summary)}\n`);
  const rate = passRate(summary);
  if (rate < minPassRate) {
    process.stderr.write(`conformance: pass rate ${rate.toFixed(3)} is below ${minPassRate}\n`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `conformance: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(2);
});
