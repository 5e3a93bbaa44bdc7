/** Where the local runtime prints. */
export interface LocalOutput {
  /** One line: a pipe state change, an execution's end, a CDC batch. */
  line(text: string): void;
  /** Snapshot progress of one table (documents copied of estimated). */
  progress(pipe: string, tableKey: string, copied: number, estimated: number): void;
}

const BAR_WIDTH = 30;

/**
 * Prints to a stream. On a terminal, snapshot progress redraws one bar per table in
 * place; elsewhere (CI, a log file) it prints a plain line at each tenth of the way.
 */
export function consoleOutput(stream: NodeJS.WriteStream = process.stdout): LocalOutput {
  const lastTenth = new Map<string, number>();
  let barOpen = false;
  const endBar = () => {
    if (barOpen) stream.write('\n');
    barOpen = false;
  };
  return {
    line(text) {
      endBar();
      stream.write(`${text}\n`);
    },
    progress(pipe, tableKey, copied, estimated) {
      const fraction = estimated > 0 ? Math.min(1, copied / estimated) : 1;
      const percent = Math.floor(fraction * 100);
      const counts = `${copied}/${estimated} documents (${percent}%)`;
      if (stream.isTTY) {
        const filled = Math.round(fraction * BAR_WIDTH);
        stream.write(
          `\rpipe ${pipe}: snapshot ${tableKey} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${counts}`,
        );
        barOpen = true;
        return;
      }
      const key = `${pipe}/${tableKey}`;
      const tenth = Math.floor(fraction * 10);
      if (lastTenth.get(key) === tenth) return;
      lastTenth.set(key, tenth);
      stream.write(`pipe ${pipe}: snapshot ${tableKey} ${counts}\n`);
    },
  };
}
