/** Where a command writes, and the process surroundings it reads: injected so tests run `main` in-process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  /** Waits between `watch` frames; tests pass a short one. */
  sleep(ms: number): Promise<void>;
  now(): Date;
  /** Whether stdout is a terminal: `watch` clears the screen between frames only then. */
  isTty: boolean;
}

export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: () => new Date(),
    isTty: process.stdout.isTTY === true,
  };
}

/** The exit codes of docs/cli.md. */
export const EXIT = {
  ok: 0,
  other: 1,
  badInput: 2,
  notFound: 3,
  refused: 4,
  unavailable: 5,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit code an HTTP status means. */
export function exitCodeOf(status: number): ExitCode {
  if (status === 400 || status === 413 || status === 415) return EXIT.badInput;
  if (status === 404) return EXIT.notFound;
  if (status === 409) return EXIT.refused;
  if (status === 502 || status === 503 || status === 504) return EXIT.unavailable;
  return EXIT.other;
}

/** A failure the CLI reports and exits with; `lines` are printed to stderr, one per line. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    readonly lines: string[],
    readonly body: unknown = null,
  ) {
    super(lines.join('\n'));
    this.name = 'CliError';
  }
}
