import { describe, expect, it } from 'vitest';
import { InvalidSettingsError } from '../../functions/core/errors.js';
import { parseSettings } from '../../functions/core/settings.js';
import { columnTypeSql, parseColumnType } from '../../functions/core/table-shape-types.js';

const base = { sourceDatabaseName: 'shop', sourceCollection: 'orders', targetTable: 'orders' };

function errorsOf(mapping: Record<string, unknown>): { path: string; message: string }[] {
  try {
    parseSettings({ tableMappings: [{ ...base, ...mapping }] }, ['settings']);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidSettingsError);
    return [...(err as InvalidSettingsError).fieldErrors];
  }
  throw new Error('expected the mapping to be refused');
}

const column = (name: string, path: string, type = 'String') => ({ name, path, type });

describe('typed column settings', () => {
  it('keeps columns, excluded fields and the mismatch action as given, and adds nothing when absent', () => {
    const mapping = {
      ...base,
      columns: [
        column('customer_city', 'customer.city', 'LowCardinality(String)'),
        column('sku0', 'lines.0.sku'),
      ],
      excludedFields: ['notes', 'customer.ssn'],
      onTypeMismatch: 'fail',
    };
    expect(parseSettings({ tableMappings: [mapping] }).tableMappings[0]).toEqual(mapping);
    expect(parseSettings({ tableMappings: [base] }).tableMappings[0]).toEqual(base);
  });

  it.each([
    ['_id', 'reserved'],
    ['doc', 'reserved'],
    ['_peerdb_version', 'reserved'],
    ['1st', 'must start with a letter'],
    ['a-b', 'must start with a letter'],
  ])('refuses the column name %s', (name, message) => {
    const errors = errorsOf({ columns: [column(name, 'a')] });
    expect(errors).toEqual([
      { path: 'settings.tableMappings[0].columns[0].name', message: expect.stringContaining(message) },
    ]);
  });

  it('refuses a name used twice, naming the first', () => {
    expect(errorsOf({ columns: [column('a', 'x'), column('a', 'y')] })).toEqual([
      {
        path: 'settings.tableMappings[0].columns[1].name',
        message: 'column a is already defined by columns[0]',
      },
    ]);
  });

  it.each(['', 'a..b', '.a', 'a.'])('refuses the path %j', (path) => {
    expect(errorsOf({ columns: [column('c', path)] })[0]?.path).toBe(
      'settings.tableMappings[0].columns[0].path',
    );
  });

  it.each([
    ['Int8', 'not one of the supported'],
    ['Decimal(77,2)', 'precision'],
    ['Decimal(4,5)', 'scale'],
    ['Array(Array(String))', 'arrays of arrays'],
    ['Nullable(Array(Int32))', 'Nullable(Array'],
    ['Nullable(LowCardinality(String))', 'LowCardinality(Nullable(String))'],
    ['DateTime64(6)', 'not one of the supported'],
  ])('refuses the type %s', (type, message) => {
    expect(errorsOf({ columns: [column('c', 'a', type)] })).toEqual([
      { path: 'settings.tableMappings[0].columns[0].type', message: expect.stringContaining(message) },
    ]);
  });

  it.each([
    ['String', 'String'],
    ['LowCardinality(Nullable(String))', 'LowCardinality(Nullable(String))'],
    ['Decimal(18,2)', 'Decimal(18, 2)'],
    ['Decimal(18, 2)', 'Decimal(18, 2)'],
    ['Nullable(DateTime64(3))', "Nullable(DateTime64(3, 'UTC'))"],
    ['Array(Nullable(Int64))', 'Array(Nullable(Int64))'],
    ['Array(LowCardinality(String))', 'Array(LowCardinality(String))'],
  ])('accepts the type %s, written %s in the table', (type, sql) => {
    const parsed = parseColumnType(type);
    expect(parsed.ok && columnTypeSql(parsed.type)).toBe(sql);
  });

  it('refuses excluding _id, a path twice, or a path under an excluded one', () => {
    expect(errorsOf({ excludedFields: ['_id.x', 'a', 'a', 'a.b'] })).toEqual([
      {
        path: 'settings.tableMappings[0].excludedFields[0]',
        message: '_id is the row key and cannot be excluded',
      },
      {
        path: 'settings.tableMappings[0].excludedFields[2]',
        message: 'a is already excluded by excludedFields[1]',
      },
      {
        path: 'settings.tableMappings[0].excludedFields[3]',
        message: 'a.b is already excluded by excludedFields[1]',
      },
    ]);
  });

  it('refuses a column that reads an excluded field or a document holding one', () => {
    const errors = errorsOf({
      columns: [
        column('city', 'customer.city'),
        column('customer', 'customer'),
        column('ok', 'customerName'),
      ],
      excludedFields: ['customer.ssn', 'customer.city'],
    });
    expect(errors).toEqual([
      {
        path: 'settings.tableMappings[0].columns[0].path',
        message: 'path customer.city is excluded by excludedFields entry customer.city',
      },
      {
        path: 'settings.tableMappings[0].columns[1].path',
        message: 'path customer holds the excluded field customer.ssn, which the column would write',
      },
    ]);
  });

  it('refuses a column of an array element that holds a field excluded from every element', () => {
    const errors = errorsOf({
      columns: [column('line', 'lines.1'), column('sku', 'lines.1.sku')],
      excludedFields: ['lines.secret'],
    });
    expect(errors).toEqual([
      {
        path: 'settings.tableMappings[0].columns[0].path',
        message: 'path lines.1 holds the excluded field lines.secret, which the column would write',
      },
    ]);
  });

  it('refuses an unknown mismatch action', () => {
    expect(errorsOf({ onTypeMismatch: 'skip' })[0]?.path).toBe('settings.tableMappings[0].onTypeMismatch');
  });
});
