/**
 * Child processes of the benchmark: forked with the tsx loader (not the parent's own execArgv,
 * so a profiled parent does not profile its children), and their CPU time read from /proc.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat on Linux. */
const CLOCK_TICKS_PER_SECOND = 100;

const running = new Set<ChildProcess>();
let closing = false;

/**
 * Ends every child forked here that still runs, and refuses new ones: for Ctrl-C, so a section
 * in flight cannot start another child while the stand-ins stop.
 */
export function killChildren(): void {
  closing = true;
  for (const child of running) child.kill('SIGKILL');
}

export function forkTs(
  entry: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
  nodeOptions: string[] = [],
): ChildProcess {
  if (closing) throw new Error('the benchmark is stopping');
  const child = fork(entry, args, {
    execArgv: [...nodeOptions, '--import', TSX_LOADER],
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** The first IPC message of a child, or an error when it exits first. */
export function firstMessage<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      reject(new Error(`${what} exited before answering (code ${code}, signal ${signal})`));
    child.once('exit', onExit);
    child.once('message', (message) => {
      child.off('exit', onExit);
      resolve(message as T);
    });
  });
}

/** Ends a child started here: disconnect (it exits on its own), SIGKILL after a grace period. */
export function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (child.connected) child.disconnect();
    else child.kill('SIGTERM');
  });
}

/** User + system CPU seconds a process (all its threads) has used, or undefined without /proc. */
export function cpuSecondsOfPid(pid: number | undefined): number | undefined {
  if (pid === undefined || pid < 0) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3 (state).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** CPU seconds of this process (user + system, all threads: JS, GC, libuv). */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** CPU seconds all processes of the machine have been busy (not idle or waiting on I/O), from /proc/stat. */
export function machineBusySeconds(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal ...
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    const busy = [user, nice, system, irq, softirq, steal].reduce<number>(
      (sum, value) => sum + (value ?? 0),
      0,
    );
    return busy / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}
