/** Printing: the machine header, rates, percentiles and the closing summary. */
import os from 'node:os';
import type { CpuSample } from './world.js';

export const MB = 1_000_000;

export function machineHeader(): string[] {
  const cpus = os.cpus();
  return [
    `date: ${new Date().toISOString()}`,
    `command: ${process.argv.map((arg) => (/\s/.test(arg) ? JSON.stringify(arg) : arg)).join(' ')}`,
    `machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ` +
      `${os.platform()} ${os.release()}, Node ${process.version}`,
    `load average at start: ${loadAverage()}`,
  ];
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
}

export function perSecond(count: number, seconds: number): string {
  return Math.round(count / seconds).toLocaleString('en-US');
}

export function mbPerSecond(bytes: number, seconds: number): string {
  return (bytes / MB / seconds).toFixed(1);
}

export function seconds(value: number): string {
  return value.toFixed(2);
}

/** `bench 1.23 s (0.98 core), simulator 0.40 s, clickhouse 0.71 s` for a phase of `wall` seconds. */
export function cpuLine(
  cpu: CpuSample & { extra?: number | undefined; extraName?: string },
  wall: number,
): string {
  const other = (name: string, value: number | undefined) =>
    value === undefined ? `${name} n/a` : `${name} ${value.toFixed(2)} s`;
  const ours = cpu.bench + (cpu.simulator ?? 0) + (cpu.clickhouse ?? 0) + (cpu.extra ?? 0);
  const others =
    cpu.machine === undefined ? 'n/a' : `${(Math.max(0, cpu.machine - ours) / wall).toFixed(2)} cores`;
  return (
    `CPU: bench process ${cpu.bench.toFixed(2)} s (${(cpu.bench / wall).toFixed(2)} of a core), ` +
    `${other('simulator', cpu.simulator)}, ${other('clickhouse', cpu.clickhouse)}` +
    (cpu.extra === undefined ? '' : `, ${other(cpu.extraName ?? 'child', cpu.extra)}`) +
    `; other processes on the machine: ${others}`
  );
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** Prints a section title. */
export function section(title: string): void {
  console.log(`\n== ${title}`);
}
