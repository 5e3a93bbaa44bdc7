/** Runs every unified-format test file under a directory and tallies the results. */
import { relative } from 'node:path';
import { MongoClient } from 'mongodb';
import { type DeploymentUnderTest, type SimulatedTopology, startDeployment } from './deployment.js';
import { driverSkipReason } from './driver-deviations.js';
import { errorMessage } from './errors.js';
import {
  listTestFiles,
  loadTestFile,
  peekTestDescriptions,
  schemaVersionSupported,
  type TestFile,
} from './load.js';
import { evaluateRequirements, type ServerFacts } from './requirements.js';
import { gatherServerFacts } from './server-facts.js';
import { runTestCase } from './test-case.js';

export interface ConformanceOptions {
  /** Directory searched recursively for `.json` test files. */
  dir: string;
  /** Run against this deployment instead of starting a simulator per file. */
  externalUri?: string;
  /** Only tests whose `file › description` label contains this substring. */
  filter?: string;
  /** A test still running after this long fails and the run moves on. */
  testTimeoutMs?: number;
  /** The simulator to start when no external deployment is given (default `replicaset`). */
  topology?: SimulatedTopology;
  /** Receives one line per test as it finishes. */
  log?: (line: string) => void;
  /** No tolerated driver deviations and no driver-bug skips (driver-deviations.ts). */
  strict?: boolean;
}

export type TestStatus = 'PASS' | 'FAIL' | 'SKIP';

export interface TestOutcome {
  file: string;
  description: string;
  status: TestStatus;
  /** Why it failed, or which requirement excluded it. */
  reason?: string;
  /** Passed only with these driver deviations tolerated. */
  toleratedDeviations?: string[];
}

export interface ConformanceSummary {
  passed: number;
  failed: number;
  skipped: number;
  /** Of the passed, how many needed a tolerated driver deviation. */
  passedWithDeviation: number;
  results: TestOutcome[];
}

export function formatOutcome(outcome: TestOutcome): string {
  const line = `${outcome.status} ${outcome.file} › ${outcome.description}`;
  const tolerated = outcome.toleratedDeviations?.length
    ? ` (driver deviation tolerated: ${outcome.toleratedDeviations.join(', ')})`
    : '';
  return outcome.reason ? `${line}${tolerated} — ${outcome.reason}` : `${line}${tolerated}`;
}

export function summaryLine(summary: ConformanceSummary): string {
  const counts = `${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`;
  if (summary.passedWithDeviation === 0) return `conformance: ${counts}`;
  return `conformance: ${counts} (${summary.passedWithDeviation} of the passed with a driver deviation tolerated; --strict: ${summary.passed - summary.passedWithDeviation} passed)`;
}

/** passed / (passed + failed); 1 when nothing ran. */
export function passRate(summary: ConformanceSummary): number {
  const ran = summary.passed + summary.failed;
  return ran === 0 ? 1 : summary.passed / ran;
}

interface Connection {
  uri: string;
  client: MongoClient;
  facts: ServerFacts;
}

/** Per-file connection to the deployment, opened once when a test first needs it (or failing once). */
class FileSession {
  private deployment?: DeploymentUnderTest;
  private client?: MongoClient;
  private opening?: Promise<Connection>;

  constructor(
    private readonly externalUri: string | undefined,
    private readonly topology: SimulatedTopology | undefined,
  ) {}

  open(): Promise<Connection> {
    this.opening ??= this.connect().catch((error: unknown) => {
      if (error instanceof Error) error.message = `connecting to the deployment: ${error.message}`;
      throw error;
    });
    return this.opening;
  }

  private async connect(): Promise<Connection> {
    this.deployment = await startDeployment(this.externalUri, this.topology);
    this.client = new MongoClient(this.deployment.uri, { serverSelectionTimeoutMS: 10_000 });
    await this.client.connect();
    const facts = await gatherServerFacts(this.client);
    return { uri: this.deployment.uri, client: this.client, facts };
  }

  async close(): Promise<void> {
    await this.client?.close(true).catch(() => undefined);
    await this.deployment?.stop().catch(() => undefined);
  }
}

async function runFile(
  path: string,
  label: string,
  options: ConformanceOptions,
  record: (o: TestOutcome) => void,
) {
  const selected = (description: string) =>
    !options.filter || `${label} › ${description}`.includes(options.filter);
  let file: TestFile;
  try {
    file = await loadTestFile(path);
    if (!schemaVersionSupported(file.schemaVersion)) {
      throw new Error(`schemaVersion ${file.schemaVersion} is newer than the supported 1.28`);
    }
  } catch (error) {
    const descriptions = await peekTestDescriptions(path);
    for (const description of descriptions.length > 0 ? descriptions : ['(file)']) {
      if (selected(description))
        record({ file: label, description, status: 'FAIL', reason: errorMessage(error) });
    }
    return;
  }
  const tests = file.tests.filter((test) => selected(test.description));
  if (tests.length === 0) return;
  const session = new FileSession(options.externalUri, options.topology);
  try {
    for (const test of tests) {
      const outcome: TestOutcome = { file: label, description: test.description, status: 'PASS' };
      try {
        const driverBug = options.strict ? undefined : driverSkipReason(label, test.description);
        if (test.skipReason) {
          Object.assign(outcome, { status: 'SKIP', reason: `skipReason: ${test.skipReason}` });
        } else if (driverBug) {
          Object.assign(outcome, { status: 'SKIP', reason: driverBug });
        } else {
          const { uri, client, facts } = await session.open();
          const fileVerdict = await evaluateRequirements(file.runOnRequirements, facts);
          const verdict = fileVerdict.applies
            ? await evaluateRequirements(test.runOnRequirements, facts)
            : fileVerdict;
          if (!verdict.applies) Object.assign(outcome, { status: 'SKIP', reason: verdict.reason });
          else {
            const tolerated = await runTestCase(file, test, {
              uri,
              internalClient: client,
              timeoutMs: options.testTimeoutMs ?? 30_000,
              waitTimeoutMs: 10_000,
              tolerateDriverDeviations: !options.strict,
            });
            if (tolerated.length > 0) outcome.toleratedDeviations = tolerated;
          }
        }
      } catch (error) {
        Object.assign(outcome, { status: 'FAIL', reason: errorMessage(error) });
      }
      record(outcome);
    }
  } finally {
    await session.close();
  }
}

export async function runConformance(options: ConformanceOptions): Promise<ConformanceSummary> {
  const summary: ConformanceSummary = {
    passed: 0,
    failed: 0,
    skipped: 0,
    passedWithDeviation: 0,
    results: [],
  };
  const record = (outcome: TestOutcome) => {
    summary.results.push(outcome);
    if (outcome.status === 'PASS' && outcome.toleratedDeviations) summary.passedWithDeviation++;
    if (outcome.status === 'PASS') summary.passed++;
    else if (outcome.status === 'FAIL') summary.failed++;
    else summary.skipped++;
    options.log?.(formatOutcome(outcome));
  };
  for (const path of await listTestFiles(options.dir)) {
    await runFile(path, relative(options.dir, path), options, record);
  }
  return summary;
}
