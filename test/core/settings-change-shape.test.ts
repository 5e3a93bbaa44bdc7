import { describe, expect, it } from 'vitest';
import { InvalidSettingsError } from '../../functions/core/errors.js';
import { parseSettings } from '../../functions/core/settings.js';
import {
  addColumnsSql,
  applyTableShapeChanges,
  liveColumnTakes,
} from '../../functions/core/settings-change-shape.js';

const orders = { sourceDatabaseName: 'shop', sourceCollection: 'orders', targetTable: 'orders' };
const items = { sourceDatabaseName: 'shop', sourceCollection: 'items', targetTable: 'items' };
const city = { path: 'customer.city', name: 'city', type: 'LowCardinality(String)' };
const total = { path: 'total', name: 'total', type: 'Float64' };
const count = { path: 'count', name: 'count', type: 'Int32' };

const current = parseSettings({ tableMappings: [{ ...orders, columns: [city, count] }, items] });
const ref = (mapping: typeof orders) => ({
  sourceDatabaseName: mapping.sourceDatabaseName,
  sourceCollection: mapping.sourceCollection,
});

function refusal(run: () => unknown): InvalidSettingsError {
  try {
    run();
  } catch (error) {
    if (error instanceof InvalidSettingsError) return error;
    throw error;
  }
  throw new Error('expected an InvalidSettingsError');
}

describe('applyTableShapeChanges', () => {
  it('resyncs a table whose columns change, and leaves the other mappings as they were', () => {
    const change = applyTableShapeChanges(current, [{ ...ref(orders), columns: [city, count, total] }]);
    expect(change.reshaped).toEqual(['shop.orders']);
    expect(change.mismatchOnly).toEqual([]);
    expect(change.settings.tableMappings[0]?.columns).toEqual([city, count, total]);
    expect(change.settings.tableMappings[1]).toEqual(current.tableMappings[1]);
  });

  it('resyncs a table whose excluded fields change', () => {
    const change = applyTableShapeChanges(current, [{ ...ref(items), excludedFields: ['notes'] }]);
    expect(change.reshaped).toEqual(['shop.items']);
    expect(change.settings.tableMappings[1]?.excludedFields).toEqual(['notes']);
  });

  it('does not resync for onTypeMismatch alone', () => {
    const change = applyTableShapeChanges(current, [{ ...ref(orders), onTypeMismatch: 'fail' }]);
    expect(change).toMatchObject({ reshaped: [], mismatchOnly: ['shop.orders'] });
    expect(change.settings.tableMappings[0]?.onTypeMismatch).toBe('fail');
  });

  it('changes nothing when the patch repeats the current shape (a retried request)', () => {
    const change = applyTableShapeChanges(current, [
      { ...ref(orders), columns: [city, count], onTypeMismatch: 'null' },
      { ...ref(items), columns: [], excludedFields: [] },
    ]);
    expect(change).toMatchObject({ reshaped: [], mismatchOnly: [] });
    expect(change.settings.tableMappings[1]).toEqual(items);
  });

  it('stores an emptied list as no list', () => {
    const change = applyTableShapeChanges(current, [{ ...ref(orders), columns: [] }]);
    expect(change.reshaped).toEqual(['shop.orders']);
    expect(change.settings.tableMappings[0]).toEqual(orders);
  });

  it('names an unknown table and a broken rule at tableMappingsToChange[i]', () => {
    const error = refusal(() =>
      applyTableShapeChanges(current, [
        { sourceDatabaseName: 'shop', sourceCollection: 'nope' },
        { ...ref(orders), excludedFields: ['customer'] },
      ]),
    );
    expect(error.fieldErrors).toEqual([
      { path: 'tableMappingsToChange[0].sourceCollection', message: 'the pipe has no table shop.nope' },
      {
        path: 'tableMappingsToChange[1].columns[0].path',
        message: 'path customer.city is excluded by excludedFields entry customer',
      },
    ]);
  });

  it('refuses a column that keeps its name under a type the live table cannot take until the swap', () => {
    const error = refusal(() =>
      applyTableShapeChanges(current, [{ ...ref(orders), columns: [city, { ...count, type: 'String' }] }]),
    );
    expect(error.fieldErrors[0]?.path).toBe('tableMappingsToChange[0].columns[1].type');
    expect(error.fieldErrors[0]?.message).toMatch(/give the column a new name/);
    const renamed = applyTableShapeChanges(current, [
      { ...ref(orders), columns: [city, { ...count, name: 'count_text', type: 'String' }] },
    ]);
    expect(renamed.reshaped).toEqual(['shop.orders']);
  });
});

describe('liveColumnTakes', () => {
  it.each([
    ['String', 'Int64', true],
    ['LowCardinality(String)', 'DateTime64(3)', true],
    ['String', 'Array(Int32)', true],
    ['Float64', 'Decimal(18,2)', true],
    ['Int64', 'Nullable(Int32)', true],
    ['Nullable(Int32)', 'Int32', true],
    ['Decimal(18,4)', 'Decimal(10,2)', true],
    ['Decimal(18,2)', 'Decimal(18,4)', false],
    ['Int32', 'String', false],
    ['Int32', 'Int64', false],
    ['UUID', 'String', false],
    ['Array(Int32)', 'Int32', false],
    ['Array(Float64)', 'Array(Int32)', true],
  ])('a live %s column takes %s values: %s', (old, next, takes) => {
    expect(liveColumnTakes(old, next)).toBe(takes);
  });
});

describe('addColumnsSql', () => {
  it('adds each missing column in one ALTER, names quoted', () => {
    expect(
      addColumnsSql({ database: 'db', table: 'orders' }, [
        { name: 'city', sql: 'LowCardinality(Nullable(String))' },
        { name: 'total', sql: 'Decimal(18, 2)' },
      ]),
    ).toBe(
      'ALTER TABLE `db`.`orders` ADD COLUMN IF NOT EXISTS `city` LowCardinality(Nullable(String)), ' +
        'ADD COLUMN IF NOT EXISTS `total` Decimal(18, 2)',
    );
  });

  it('refuses a name outside the strict identifier rule', () => {
    expect(() => addColumnsSql({ database: 'db', table: 't' }, [{ name: 'a`b', sql: 'String' }])).toThrow();
  });
});
