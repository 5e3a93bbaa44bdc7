import type { Log } from '../../functions/ports/log.js';

/** A Log that drops every line (tests and benchmarks that do not look at them). */
export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

export interface LoggedLine {
  level: keyof Log;
  message: string;
  detail: Record<string, unknown>;
}

/** A Log that keeps its lines, for tests that check what an adapter says. */
export function recordingLog(): { log: Log; lines: LoggedLine[]; messages(): string[] } {
  const lines: LoggedLine[] = [];
  const at =
    (level: keyof Log) =>
    (message: string, detail: Record<string, unknown> = {}) =>
      void lines.push({ level, message, detail });
  return {
    log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
    lines,
    messages: () => lines.map((line) => line.message),
  };
}
