import { describe, expect, it } from 'vitest';
import { InvalidSettingsError } from '../../functions/core/errors.js';
import { parseSettings, RESERVED_TABLE_SUFFIXES } from '../../functions/core/settings.js';
import { resyncTableName, swappedOutTableName } from '../../functions/core/table-schema.js';

/** Issue 14, finding 3: every suffix the product gives its own tables is refused as a target. */

function targetTableErrors(targetTable: string): { path: string; message: string }[] {
  const settings = {
    tableMappings: [
      { sourceDatabaseName: 'shop', sourceCollection: 'orders', targetTable: 'x' },
      { sourceDatabaseName: 'shop', sourceCollection: 'archive', targetTable },
    ],
  };
  try {
    parseSettings(settings, ['settings']);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidSettingsError);
    return [...(error as InvalidSettingsError).fieldErrors];
  }
  return [];
}

describe('reserved table name suffixes', () => {
  it('lists every suffix the product creates tables with (the resync table and the swap fallback)', () => {
    expect([...RESERVED_TABLE_SUFFIXES].sort()).toEqual(['_resync', '_swapped_out']);
    expect(resyncTableName('x')).toBe('x_resync');
    expect(swappedOutTableName('x')).toBe('x_swapped_out');
    for (const name of [resyncTableName('x'), swappedOutTableName('x')])
      expect(
        RESERVED_TABLE_SUFFIXES.some((suffix) => name.endsWith(suffix)),
        name,
      ).toBe(true);
  });

  it.each(['x_swapped_out', 'x_resync', 'orders_swapped_out'])(
    'refuses %s as a targetTable, as a field error on the mapping',
    (name) => {
      expect(targetTableErrors(name)).toEqual([
        {
          path: 'settings.tableMappings[1].targetTable',
          message: expect.stringMatching(/must not end with _(resync|swapped_out): that suffix is reserved/),
        },
      ]);
    },
  );

  it.each(['x_swapped', 'swapped_out', 'x_swapped_out_2', 'resync', 'x_resynced'])(
    'accepts %s (the suffix alone, or not at the end)',
    (name) => {
      expect(targetTableErrors(name)).toEqual([]);
    },
  );
});
