/** Plain-text tables, bars and sparklines for the terminal. */

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `[██████░░░░]` for done of total; an unknown total (0) shows an empty bar. */
export function progressBar(done: number, total: number, width = 24): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(ratio * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
}

export function percent(done: number, total: number): string {
  if (total <= 0) return '  ?%';
  return `${Math.min(100, Math.floor((done / total) * 100))}%`.padStart(4);
}

const SPARKS = '▁▂▃▄▅▆▇█';

/** One block per value, scaled between 0 and the largest value shown. */
export function sparkline(values: readonly number[]): string {
  const max = Math.max(0, ...values);
  return values
    .map((value) => SPARKS[max === 0 ? 0 : Math.min(SPARKS.length - 1, Math.round((value / max) * 7))])
    .join('');
}

export function count(value: number): string {
  return value.toLocaleString('en-US');
}

/** 850 ms, 4.2 s, 3 min 10 s, 2 h 5 min. */
export function duration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes} min ${Math.floor((ms % 60_000) / 1_000)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export const ANSI = {
  clear: '\x1b[2J\x1b[H',
  bold: (text: string) => `\x1b[1m${text}\x1b[0m`,
  dim: (text: string) => `\x1b[2m${text}\x1b[0m`,
  red: (text: string) => `\x1b[31m${text}\x1b[0m`,
  green: (text: string) => `\x1b[32m${text}\x1b[0m`,
  yellow: (text: string) => `\x1b[33m${text}\x1b[0m`,
};

/** A style that leaves text as it is: for output that is not a terminal. */
export const PLAIN = {
  ...ANSI,
  clear: '',
  bold: (text: string) => text,
  dim: (text: string) => text,
  red: (text: string) => text,
  green: (text: string) => text,
  yellow: (text: string) => text,
};
export type Style = typeof ANSI;
