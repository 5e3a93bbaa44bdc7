import { describe, expect, it } from 'vitest';
import { InvalidSettingsError, SettingsLockedError } from '../../functions/core/errors.js';
import { PIPE_STATES } from '../../functions/core/lifecycle.js';
import { parseSettings } from '../../functions/core/settings.js';
import { applySettingsChange, IMMUTABLE_SETTINGS } from '../../functions/core/settings-change.js';

const current = parseSettings({
  tableMappings: [{ sourceDatabaseName: 'shop', sourceCollection: 'orders', targetTable: 'orders' }],
});

describe('settings change only while Paused', () => {
  it('applies a change while Paused and names what changed', () => {
    const result = applySettingsChange('Paused', current, { pullBatchSize: 5000, syncIntervalSeconds: 120 });
    expect(result.changed.sort()).toEqual(['pullBatchSize', 'syncIntervalSeconds']);
    expect(result.settings.pullBatchSize).toBe(5000);
    expect(result.settings.tableMappings).toEqual(current.tableMappings);
  });

  it.each(PIPE_STATES.filter((state) => state !== 'Paused'))('refuses a real change while %s', (state) => {
    let thrown: unknown;
    try {
      applySettingsChange(state, current, { pullBatchSize: 5000 });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(SettingsLockedError);
    expect((thrown as SettingsLockedError).state).toBe(state);
    expect((thrown as SettingsLockedError).settingNames).toEqual(['pullBatchSize']);
    expect((thrown as Error).message).toMatch(/only change while the pipe is Paused/);
  });

  it('accepts resending the current values in any state (no change)', () => {
    expect(applySettingsChange('Running', current, { pullBatchSize: current.pullBatchSize }).changed).toEqual(
      [],
    );
  });

  it.each(IMMUTABLE_SETTINGS)('refuses to change %s even while Paused', (name) => {
    const value = name === 'replicationMode' ? 'snapshot' : false;
    expect(() => applySettingsChange('Paused', current, { [name]: value })).toThrow(InvalidSettingsError);
    try {
      applySettingsChange('Paused', current, { [name]: value });
    } catch (err) {
      expect((err as InvalidSettingsError).fieldErrors).toEqual([
        { path: `settings.${name}`, message: expect.stringMatching(/new pipe/) },
      ]);
    }
  });

  it('sends table mapping changes to the add/remove tables commands', () => {
    const patch = {
      tableMappings: [
        ...current.tableMappings,
        { sourceDatabaseName: 'shop', sourceCollection: 'users', targetTable: 'users' },
      ],
    };
    expect(() => applySettingsChange('Paused', current, patch)).toThrow(/add tables or remove tables/);
  });

  it('validates the merged result with field paths', () => {
    try {
      applySettingsChange('Paused', current, { pullBatchSize: 0 });
      expect.unreachable();
    } catch (err) {
      expect((err as InvalidSettingsError).fieldErrors).toEqual([
        { path: 'settings.pullBatchSize', message: expect.stringMatching(/at least 1/) },
      ]);
    }
    expect(() => applySettingsChange('Paused', current, null)).toThrow(InvalidSettingsError);
  });
});
