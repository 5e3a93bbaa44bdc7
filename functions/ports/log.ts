/**
 * Where the product writes what an operator reads: structured lines carrying the pipe, the
 * operation and, in Lambda, the request. Powertools' Logger fits it in AWS and locally; engines
 * and the API take it as a port so they stay free of the logging library.
 */
export interface Log {
  debug(message: string, detail?: Record<string, unknown>): void;
  info(message: string, detail?: Record<string, unknown>): void;
  warn(message: string, detail?: Record<string, unknown>): void;
  error(message: string, detail?: Record<string, unknown>): void;
}
