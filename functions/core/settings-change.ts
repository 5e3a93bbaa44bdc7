import { InvalidSettingsError, SettingsLockedError } from './errors.js';
import type { PipeState } from './lifecycle.js';
import { type PipeSettings, parseSettings, type SettingName } from './settings.js';

/**
 * Settings fixed at creation: they decide the destination table schema (JSON vs String column)
 * or the shape of the whole lifecycle, so changing them means a new pipe.
 */
export const IMMUTABLE_SETTINGS: readonly SettingName[] = ['replicationMode', 'useJsonNativeFormat'];

/** Changed through the add/remove tables commands, which run their own snapshot or clean-up, or a shape change (settings-change-shape.ts). */
export const TABLE_MAPPING_SETTING: SettingName = 'tableMappings';

/** The only state in which settings change: nothing is in flight, so no step sees half a change. */
export const SETTINGS_EDITABLE_STATE: PipeState = 'Paused';

export interface SettingsChange {
  settings: PipeSettings;
  changed: SettingName[];
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Apply a partial settings update to a pipe's current settings. Refuses immutable settings and
 * table mappings (whatever the state), and any real change unless the pipe is Paused. Sending a
 * value equal to the current one is not a change and is accepted in every state.
 */
export function applySettingsChange(state: PipeState, current: PipeSettings, patch: unknown): SettingsChange {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new InvalidSettingsError([
      { path: 'settings', message: 'must be an object of settings to change' },
    ]);
  }
  const merged = parseSettings({ ...current, ...patch }, ['settings']);
  const changed = (Object.keys(merged) as SettingName[]).filter(
    (name) => !sameValue(merged[name], current[name]),
  );
  const refused = changed.filter(
    (name) => IMMUTABLE_SETTINGS.includes(name) || name === TABLE_MAPPING_SETTING,
  );
  if (refused.length > 0) {
    throw new InvalidSettingsError(
      refused.map((name) => ({
        path: `settings.${name}`,
        message:
          name === TABLE_MAPPING_SETTING
            ? 'change table mappings with the add tables or remove tables command (tableMappingsToAdd, ' +
              "tableMappingsToRemove), and a table's columns, excludedFields or onTypeMismatch with " +
              'tableMappingsToChange, not a settings update'
            : 'is fixed when the pipe is created: create a new pipe to change it',
      })),
    );
  }
  if (changed.length > 0 && state !== SETTINGS_EDITABLE_STATE) throw new SettingsLockedError(state, changed);
  return { settings: merged, changed };
}
