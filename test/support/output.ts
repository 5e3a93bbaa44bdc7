import { vi } from 'vitest';

/**
 * The JSON lines Powertools writes while `run` runs: its Logger and Metrics print through their
 * own Console on process.stdout (debug, info, EMF) and process.stderr (warn, error), not through
 * the global console vitest intercepts. Nothing reaches the real streams meanwhile.
 */
export async function jsonLinesWritten(run: () => unknown): Promise<JsonLine[]> {
  const written: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  };
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation(capture),
    vi.spyOn(process.stderr, 'write').mockImplementation(capture),
  ];
  try {
    await run();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return written
    .join('')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as JsonLine);
}

export type JsonLine = Record<string, unknown>;

/** A CloudWatch Embedded Metric Format line. */
export type EmfLine = JsonLine & {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: Array<{
      Namespace: string;
      Dimensions: string[][];
      Metrics: Array<{ Name: string; Unit: string }>;
    }>;
  };
};

/** The EMF lines written while `run` runs. */
export async function emfLinesOf(run: () => unknown): Promise<EmfLine[]> {
  return (await jsonLinesWritten(run)).filter((line): line is EmfLine => '_aws' in line);
}
