/**
 * CPU profiles of this process (V8's sampling profiler, through the inspector) around one call,
 * written as a .cpuprofile (open it in Chrome DevTools) and summarised by self time: idle,
 * garbage collection, and the busiest files and functions. `--profile` uses it around the
 * product's snapshot chunk; the product-alone CDC run (replay-product.ts) around one CDC run.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: {
    functionName: string;
    scriptId: string;
    url: string;
    lineNumber: number;
    columnNumber: number;
    /** 1-based line in the TypeScript source, when the script carried a source map (tsx does). */
    sourceLine?: number;
  };
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time of one file, package or function, in microseconds of samples. */
export interface ProfileEntry {
  name: string;
  micros: number;
}

export interface ProfileSummary {
  /** Sampled time (wall time of the main thread, idle included). */
  sampledMicros: number;
  idleMicros: number;
  gcMicros: number;
  byFile: ProfileEntry[];
  byFunction: ProfileEntry[];
  file: string;
}

/** Runs `run` under the sampling profiler (one sample per `intervalMicros` of the main thread). */
export async function captureProfile<T>(
  run: () => Promise<T>,
  intervalMicros = 500,
): Promise<{ result: T; profile: CpuProfile }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalMicros });
  await session.post('Profiler.start');
  const stop = async () => {
    try {
      const stopped = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
      await resolveSourceLines(session, stopped.profile);
      return stopped.profile;
    } finally {
      session.disconnect();
    }
  };
  try {
    const result = await run();
    return { result, profile: await stop() };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/**
 * tsx compiles each TypeScript file to one long line with an inline source map, so the profile's
 * positions in our own files say little; this maps them back to the TypeScript line.
 */
async function resolveSourceLines(session: Session, profile: CpuProfile): Promise<void> {
  const maps = new Map<string, SourceMap | null>();
  await session.post('Debugger.enable');
  try {
    for (const node of profile.nodes) {
      const frame = node.callFrame;
      if (!frame.url.startsWith('file://') || frame.url.includes('/node_modules/') || frame.lineNumber < 0)
        continue;
      if (!maps.has(frame.scriptId)) maps.set(frame.scriptId, await sourceMapOf(session, frame.scriptId));
      const entry = maps.get(frame.scriptId)?.findEntry(frame.lineNumber, frame.columnNumber);
      if (entry && 'originalLine' in entry) frame.sourceLine = entry.originalLine + 1;
    }
  } finally {
    await session.post('Debugger.disable');
  }
}

async function sourceMapOf(session: Session, scriptId: string): Promise<SourceMap | null> {
  try {
    const { scriptSource } = (await session.post('Debugger.getScriptSource', { scriptId })) as {
      scriptSource: string;
    };
    const match =
      /\/\/# sourceMappingURL=data:application\/json;(?:charset=utf-8;)?base64,([A-Za-z0-9+/=]+)\s*$/.exec(
        scriptSource,
      );
    if (!match?.[1]) return null;
    return new SourceMap(JSON.parse(Buffer.from(match[1], 'base64').toString('utf8')) as SourceMapPayload);
  } catch {
    return null;
  }
}

/** Writes the profile to the temp folder and sums its self time per file/package and per function. */
export function summarizeProfile(name: string, profile: CpuProfile, top: number): ProfileSummary {
  const file = join(tmpdir(), `bench-${name}-${process.pid}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  const byNode = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    // The first delta runs from the profiler's start to its first sample (the inspector call
    // that started it): not the program's time.
    if (index > 0) byNode.set(id, (byNode.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const total = [...byNode.values()].reduce((sum, value) => sum + value, 0);
  const byFile = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const micros = byNode.get(node.id) ?? 0;
    if (micros === 0) continue;
    const { functionName, url, lineNumber, sourceLine } = node.callFrame;
    const where = url.includes('/node_modules/')
      ? (url.split('/node_modules/').at(-1)?.split('/')[0] ?? url)
      : url.replace(/^file:\/\/.*?\/(functions|bench|local|simulator)\//, '$1/') ||
        functionName ||
        '(native code)';
    byFile.set(where, (byFile.get(where) ?? 0) + micros);
    const inFile = url.includes('/node_modules/')
      ? url
          .split('/node_modules/')
          .at(-1)
          ?.replace(/^(@[^/]+\/)?[^/]+\//, '')
      : where;
    const fn = url
      ? `${functionName || '(anonymous)'} (${where}${where === inFile ? '' : `/${inFile}`}:${sourceLine ?? lineNumber + 1})`
      : where;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + micros);
  }
  const sorted = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([entry, micros]) => ({ name: entry, micros }));
  return {
    sampledMicros: total,
    idleMicros: byFile.get('(idle)') ?? 0,
    gcMicros: byFile.get('(garbage collector)') ?? 0,
    byFile: sorted(byFile),
    byFunction: sorted(byFunction),
    file,
  };
}

export async function profiled<T>(name: string, run: () => Promise<T>): Promise<T> {
  let captured: { result: T; profile: CpuProfile } | undefined;
  try {
    captured = await captureProfile(run);
    return captured.result;
  } finally {
    if (captured) {
      const summary = summarizeProfile(name, captured.profile, 8);
      const share = (entries: ProfileEntry[]) =>
        entries
          .map((entry) => `${((100 * entry.micros) / summary.sampledMicros).toFixed(1)}% ${entry.name}`)
          .join('; ');
      console.log(
        `  profile of this process during the product run (${(summary.sampledMicros / 1e6).toFixed(2)} s sampled), written to ${summary.file}`,
      );
      console.log(`    by file or package: ${share(summary.byFile)}`);
      console.log(`    by function: ${share(summary.byFunction)}`);
    }
  }
}
