/**
 * `--profile`: a CPU profile of this process (V8's sampling profiler, through the inspector)
 * around the product's snapshot chunk, written as a .cpuprofile (open it in Chrome DevTools) and
 * summarised by self time: idle, garbage collection, and the busiest files and functions.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export async function profiled<T>(name: string, run: () => Promise<T>): Promise<T> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
    session.disconnect();
    const file = join(tmpdir(), `bench-${name}-${process.pid}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    summarize(profile, file);
  }
}

function summarize(profile: CpuProfile, file: string): void {
  const byNode = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    byNode.set(id, (byNode.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const total = [...byNode.values()].reduce((sum, value) => sum + value, 0);
  const byFile = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const micros = byNode.get(node.id) ?? 0;
    if (micros === 0) continue;
    const { functionName, url } = node.callFrame;
    const where = url.includes('/node_modules/')
      ? (url.split('/node_modules/').at(-1)?.split('/')[0] ?? url)
      : url.replace(/^file:\/\/.*?\/(functions|bench|local|simulator)\//, '$1/') || functionName;
    byFile.set(where, (byFile.get(where) ?? 0) + micros);
    const fn = `${functionName || '(anonymous)'} ${url ? `(${where})` : ''}`.trim();
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + micros);
  }
  const top = (map: Map<string, number>, count: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([key, micros]) => `${((100 * micros) / total).toFixed(1)}% ${key}`)
      .join('; ');
  console.log(
    `  profile of this process during the product run (${(total / 1e6).toFixed(2)} s sampled), written to ${file}`,
  );
  console.log(`    by file or package: ${top(byFile, 8)}`);
  console.log(`    by function: ${top(byFunction, 8)}`);
}
