import { describe, expect, it } from 'vitest';
import { CDC_PIPE_STATES, cdcModeOf, cdcRunsIn } from '../../functions/core/cdc-mode.js';
import { PIPE_STATES } from '../../functions/core/lifecycle.js';

describe('CDC mode and the states it runs in', () => {
  it.each([
    [1, 'continuous'],
    [59, 'continuous'],
    [60, 'scheduled'],
    [86_400, 'scheduled'],
  ])('syncIntervalSeconds %i → %s', (seconds, mode) => {
    expect(cdcModeOf(seconds)).toBe(mode);
  });

  it('runs in every state but Pausing, Paused and the ends (and the steps before Setup is done)', () => {
    const running = PIPE_STATES.filter((state) => cdcRunsIn(state));
    expect(new Set(running)).toEqual(new Set(['Snapshot', 'Resync', 'Modifying', 'Running']));
    expect(new Set(running)).toEqual(new Set(CDC_PIPE_STATES));
    for (const state of ['Provisioning', 'Setup', 'Pausing', 'Paused', 'Completed', 'Failed'])
      expect(cdcRunsIn(state)).toBe(false);
  });
});
