import { describe, expect, it } from 'vitest';
import { IllegalTransitionError } from '../../functions/core/errors.js';
import {
  allowedEvents,
  isAllowed,
  isTransitional,
  PIPE_EVENTS,
  PIPE_STATES,
  type PipeEvent,
  type StateOrNone,
  TRANSITIONAL_STATES,
  transition,
} from '../../functions/core/lifecycle.js';

/** The brief's table written out independently of lifecycle.ts, so the two check each other. */
const EXPECTED: Record<string, string> = {
  '(none)|create': 'Provisioning',
  'Provisioning|provisioned': 'Setup',
  'Setup|destinationReady': 'Snapshot',
  'Setup|destinationReadyCdcOnly': 'Running',
  'Snapshot|snapshotDone': 'Running',
  'Snapshot|snapshotDoneSnapshotOnly': 'Completed',
  'Snapshot|resyncLoaded': 'Resync',
  'Resync|swapDone': 'Running',
  'Resync|swapDoneSnapshotOnly': 'Completed',
  'Running|pause': 'Pausing',
  'Pausing|batchDrained': 'Paused',
  'Paused|resume': 'Running',
  'Running|addTables': 'Snapshot',
  'Paused|addTables': 'Snapshot',
  'Running|removeTables': 'Modifying',
  'Paused|removeTables': 'Modifying',
  'Modifying|tablesRemovedToRunning': 'Running',
  'Modifying|tablesRemovedToPaused': 'Paused',
  'Running|resync': 'Snapshot',
  'Paused|resync': 'Snapshot',
  'Failed|resync': 'Snapshot',
  'Completed|resync': 'Snapshot',
};
for (const state of PIPE_STATES) if (state !== 'Failed') EXPECTED[`${state}|fail`] = 'Failed';

const ALL_STATES: StateOrNone[] = [null, ...PIPE_STATES];
const CROSS = ALL_STATES.flatMap((state) => PIPE_EVENTS.map((event) => [state, event] as const));

describe('transition: the full (state, event) cross product', () => {
  it('covers every pair', () => {
    expect(CROSS).toHaveLength(11 * PIPE_EVENTS.length);
  });

  it.each(CROSS)('%s + %s', (state: StateOrNone, event: PipeEvent) => {
    const expected = EXPECTED[`${state ?? '(none)'}|${event}`];
    if (expected !== undefined) {
      expect(transition(state, event)).toBe(expected);
      expect(isAllowed(state, event)).toBe(true);
      return;
    }
    expect(isAllowed(state, event)).toBe(false);
    let thrown: unknown;
    try {
      transition(state, event);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(IllegalTransitionError);
    const error = thrown as IllegalTransitionError;
    expect(error.state).toBe(state);
    expect(error.event).toBe(event);
    expect(error.allowedEvents).toEqual(allowedEvents(state));
    expect(error.disposition).toBe('fatal');
    expect(error.message).toContain(state ?? '(none)');
  });
});

describe('allowed events and transitional states', () => {
  it('lists exactly the events the expected table accepts', () => {
    for (const state of ALL_STATES) {
      const expected = PIPE_EVENTS.filter((event) => `${state ?? '(none)'}|${event}` in EXPECTED);
      expect(allowedEvents(state)).toEqual(expected);
    }
  });

  it('refuses every user command in a transitional state except fail from the machines', () => {
    for (const state of TRANSITIONAL_STATES) {
      expect(isTransitional(state)).toBe(true);
      for (const command of ['pause', 'resume', 'resync', 'addTables', 'removeTables'] as const) {
        expect(isAllowed(state, command)).toBe(false);
      }
    }
    expect(isTransitional('Running')).toBe(false);
    expect(isTransitional('Paused')).toBe(false);
  });
});
