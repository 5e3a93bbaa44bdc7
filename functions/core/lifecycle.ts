import { IllegalTransitionError } from './errors.js';

/** The ten pipe states, stored and shown with exactly these names. */
export const PIPE_STATES = [
  'Provisioning',
  'Setup',
  'Snapshot',
  'Running',
  'Pausing',
  'Paused',
  'Modifying',
  'Resync',
  'Completed',
  'Failed',
] as const;
export type PipeState = (typeof PIPE_STATES)[number];

/**
 * Every event that moves a pipe. User commands come from the API; the others are reported by
 * the Step Functions tasks when a step finishes. Where the brief says "CDC-only pipes go
 * straight to Running" or "back to the previous state", the step reports a distinct event so
 * the table stays a pure function of (state, event).
 */
export const PIPE_EVENTS = [
  'create',
  'provisioned',
  'destinationReady',
  'destinationReadyCdcOnly',
  'snapshotDone',
  'snapshotDoneSnapshotOnly',
  'resyncLoaded',
  'swapDone',
  'swapDoneSnapshotOnly',
  'pause',
  'batchDrained',
  'resume',
  'addTables',
  'removeTables',
  'tablesRemovedToRunning',
  'tablesRemovedToPaused',
  'resync',
  'fail',
] as const;
export type PipeEvent = (typeof PIPE_EVENTS)[number];

/** Events a user may send (through the API or the console); the rest come from the machines. */
export const USER_COMMANDS = ['pause', 'resume', 'resync', 'addTables', 'removeTables'] as const;
export type UserCommand = (typeof USER_COMMANDS)[number];

/** `null` is the pipe before it exists. */
export type StateOrNone = PipeState | null;

const NON_FAILED: PipeState[] = PIPE_STATES.filter((state) => state !== 'Failed');

type Row = { from: StateOrNone[]; event: PipeEvent; to: PipeState };

const TABLE: Row[] = [
  { from: [null], event: 'create', to: 'Provisioning' },
  { from: ['Provisioning'], event: 'provisioned', to: 'Setup' },
  { from: ['Setup'], event: 'destinationReady', to: 'Snapshot' },
  { from: ['Setup'], event: 'destinationReadyCdcOnly', to: 'Running' },
  { from: ['Snapshot'], event: 'snapshotDone', to: 'Running' },
  { from: ['Snapshot'], event: 'snapshotDoneSnapshotOnly', to: 'Completed' },
  { from: ['Snapshot'], event: 'resyncLoaded', to: 'Resync' },
  { from: ['Resync'], event: 'swapDone', to: 'Running' },
  { from: ['Resync'], event: 'swapDoneSnapshotOnly', to: 'Completed' },
  { from: ['Running'], event: 'pause', to: 'Pausing' },
  { from: ['Pausing'], event: 'batchDrained', to: 'Paused' },
  { from: ['Paused'], event: 'resume', to: 'Running' },
  { from: ['Running', 'Paused'], event: 'addTables', to: 'Snapshot' },
  { from: ['Running', 'Paused'], event: 'removeTables', to: 'Modifying' },
  { from: ['Modifying'], event: 'tablesRemovedToRunning', to: 'Running' },
  { from: ['Modifying'], event: 'tablesRemovedToPaused', to: 'Paused' },
  { from: ['Running', 'Paused', 'Failed', 'Completed'], event: 'resync', to: 'Snapshot' },
  { from: NON_FAILED, event: 'fail', to: 'Failed' },
];

const NEXT = new Map<string, PipeState>();
for (const row of TABLE) {
  for (const from of row.from) NEXT.set(key(from, row.event), row.to);
}

function key(state: StateOrNone, event: PipeEvent): string {
  return `${state ?? '(none)'}|${event}`;
}

/** The next state, or an IllegalTransitionError naming the state and what it would accept. */
export function transition(state: StateOrNone, event: PipeEvent): PipeState {
  const next = NEXT.get(key(state, event));
  if (next === undefined) throw new IllegalTransitionError(state, event, allowedEvents(state));
  return next;
}

export function allowedEvents(state: StateOrNone): PipeEvent[] {
  return PIPE_EVENTS.filter((event) => NEXT.has(key(state, event)));
}

export function isAllowed(state: StateOrNone, event: PipeEvent): boolean {
  return NEXT.has(key(state, event));
}

/**
 * States in which a step is in flight. User commands sent during these are refused (409),
 * never queued: the caller retries once the pipe settles. Delete is the one exception and is
 * accepted in every state.
 */
export const TRANSITIONAL_STATES: readonly PipeState[] = [
  'Provisioning',
  'Setup',
  'Snapshot',
  'Pausing',
  'Modifying',
  'Resync',
];

export function isTransitional(state: PipeState): boolean {
  return TRANSITIONAL_STATES.includes(state);
}

/** The full table, for documentation and tests. */
export function transitionTable(): ReadonlyArray<Readonly<Row>> {
  return TABLE;
}
