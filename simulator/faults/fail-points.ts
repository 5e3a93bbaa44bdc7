/**
 * Fail points compatible with the real server's `configureFailPoint`, chiefly `failCommand`:
 * modes `alwaysOn`, `off`, `{times: n}`, `{skip: n}`, and its data (`failCommands`,
 * `errorCode`, `errorLabels`, `closeConnection`, `blockConnection`/`blockTimeMS`, `appName`,
 * `namespace`, `writeConcernError`, `failInternalCommands`).
 */
import type { Document } from 'bson';
import { CommandError } from '../contract.js';

export type FailPointMode =
  | { kind: 'off' }
  | { kind: 'alwaysOn' }
  | { kind: 'times'; remaining: number }
  | { kind: 'skip'; remaining: number };

export interface FailCommandData {
  failCommands: string[];
  errorCode?: number;
  errorLabels?: string[];
  closeConnection: boolean;
  blockConnection: boolean;
  blockTimeMS: number;
  appName?: string;
  namespace?: string;
  writeConcernError?: Document;
  errorExtraInfo?: Document;
}

/** What a command that activated `failCommand` must do. */
export interface FailCommandAction {
  data: FailCommandData;
}

/**
 * Fail points the simulator knows; configuring any other name fails like an unknown one would.
 * `failGetMoreAfterCursorCheckout` fails a getMore with `errorCode` after the cursor is found,
 * so the server's own labels (e.g. `ResumableChangeStreamError`) apply.
 */
const KNOWN_FAIL_POINTS = new Set(['failCommand', 'failGetMoreAfterCursorCheckout']);

interface FailPointState {
  mode: FailPointMode;
  data: Document;
  timesEntered: number;
}

function badValue(message: string): CommandError {
  return new CommandError(2, 'BadValue', message);
}

export function parseMode(mode: unknown): FailPointMode {
  if (mode === 'off') return { kind: 'off' };
  if (mode === 'alwaysOn') return { kind: 'alwaysOn' };
  if (typeof mode === 'object' && mode !== null) {
    const spec = mode as Document;
    for (const key of ['times', 'skip'] as const) {
      if (key in spec) {
        const value = Number(spec[key]);
        if (!Number.isInteger(value) || value < 0)
          throw badValue(`mode.${key} must be a non-negative integer`);
        return key === 'times' ? { kind: 'times', remaining: value } : { kind: 'skip', remaining: value };
      }
    }
  }
  throw badValue(`Unsupported fail point mode ${JSON.stringify(mode)}`);
}

function optionalString(data: Document, key: string): string | undefined {
  const value = data[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badValue(`failCommand data.${key} must be a string`);
  return value;
}

export function parseFailCommandData(data: Document): FailCommandData {
  const failCommands = data.failCommands;
  if (!Array.isArray(failCommands) || !failCommands.every((name) => typeof name === 'string')) {
    throw badValue('failCommand data.failCommands must be an array of command names');
  }
  const errorLabels = data.errorLabels;
  if (
    errorLabels !== undefined &&
    (!Array.isArray(errorLabels) || !errorLabels.every((l) => typeof l === 'string'))
  ) {
    throw badValue('failCommand data.errorLabels must be an array of strings');
  }
  const blockTimeMS = data.blockTimeMS === undefined ? 0 : Number(data.blockTimeMS);
  if (data.blockConnection === true && (!Number.isFinite(blockTimeMS) || blockTimeMS < 0)) {
    throw badValue('failCommand data.blockTimeMS must be a non-negative number with blockConnection');
  }
  const parsed: FailCommandData = {
    failCommands: failCommands as string[],
    closeConnection: data.closeConnection === true,
    blockConnection: data.blockConnection === true,
    blockTimeMS,
  };
  if (data.errorCode !== undefined) parsed.errorCode = Number(data.errorCode);
  if (errorLabels !== undefined) parsed.errorLabels = errorLabels as string[];
  const appName = optionalString(data, 'appName');
  if (appName !== undefined) parsed.appName = appName;
  const namespace = optionalString(data, 'namespace');
  if (namespace !== undefined) parsed.namespace = namespace;
  if (typeof data.writeConcernError === 'object' && data.writeConcernError !== null) {
    parsed.writeConcernError = data.writeConcernError as Document;
  }
  if (typeof data.errorExtraInfo === 'object' && data.errorExtraInfo !== null) {
    parsed.errorExtraInfo = data.errorExtraInfo as Document;
  }
  return parsed;
}

export class FailPointRegistry {
  private readonly points = new Map<string, FailPointState>();

  /** Applies `configureFailPoint`; returns how many times the point had been entered, as the server does. */
  configure(name: string, mode: unknown, data: Document = {}): number {
    if (!KNOWN_FAIL_POINTS.has(name)) throw badValue(`Unknown fail point: ${name}`);
    const parsedMode = parseMode(mode);
    if (parsedMode.kind !== 'off' && name === 'failCommand') parseFailCommandData(data);
    if (parsedMode.kind !== 'off' && name !== 'failCommand' && !Number.isInteger(Number(data.errorCode))) {
      throw badValue(`${name} data.errorCode must be an integer`);
    }
    const previous = this.points.get(name)?.timesEntered ?? 0;
    this.points.set(name, { mode: parsedMode, data, timesEntered: 0 });
    return previous;
  }

  /** How many times a fail point fired since it was last configured. */
  timesEntered(name: string): number {
    return this.points.get(name)?.timesEntered ?? 0;
  }

  clear(): void {
    this.points.clear();
  }

  /** Decides whether `command` activates `failCommand`, counting the activation if so. */
  evaluateFailCommand(
    command: string,
    appName: string | undefined,
    namespace: string,
  ): FailCommandAction | null {
    const point = this.points.get('failCommand');
    if (!point || point.mode.kind === 'off' || command === 'configureFailPoint') return null;
    const data = parseFailCommandData(point.data);
    if (!data.failCommands.includes(command)) return null;
    if (data.appName !== undefined && data.appName !== appName) return null;
    if (data.namespace !== undefined && data.namespace !== namespace) return null;
    if (!this.consume(point)) return null;
    return { data };
  }

  /** For `failGetMoreAfterCursorCheckout`: the error code a getMore must fail with, if active. */
  evaluateGetMoreFailure(): number | null {
    const point = this.points.get('failGetMoreAfterCursorCheckout');
    if (!point || point.mode.kind === 'off' || !this.consume(point)) return null;
    return Number(point.data.errorCode);
  }

  private consume(point: FailPointState): boolean {
    const mode = point.mode;
    if (mode.kind === 'skip' && mode.remaining > 0) {
      mode.remaining -= 1;
      return false;
    }
    if (mode.kind === 'times') {
      if (mode.remaining <= 0) return false;
      mode.remaining -= 1;
      if (mode.remaining === 0) point.mode = { kind: 'off' };
    }
    point.timesEntered += 1;
    return true;
  }
}
