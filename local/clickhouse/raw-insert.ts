/**
 * Recognise the INSERT statements whose rows can go to chDB's raw insert path: the body stays
 * a Buffer handed to the engine without copying, instead of being decoded and appended to the
 * SQL text. That is what `@clickhouse/client` sends for `insert()` and the adapter for its
 * batches: `INSERT INTO [db.]table [(columns)] FORMAT <text format>` with the rows in the body.
 */

/** The formats chDB's raw insert accepts (its whitelist), by the name ClickHouse uses. */
const RAW_INSERT_FORMATS = new Set([
  'JSONEachRow',
  'JSONCompactEachRow',
  'CSV',
  'CSVWithNames',
  'TSV',
  'TabSeparated',
  'TSVWithNames',
  'TabSeparatedWithNames',
]);

export type RawInsertFormat =
  | 'JSONEachRow'
  | 'JSONCompactEachRow'
  | 'CSV'
  | 'CSVWithNames'
  | 'TSV'
  | 'TabSeparated'
  | 'TSVWithNames'
  | 'TabSeparatedWithNames';

export interface RawInsert {
  /** `table` or `database.table`, plain identifiers (chDB refuses anything else). */
  table: string;
  columns: string[] | undefined;
  format: RawInsertFormat;
  data: Buffer;
}

const NAME = String.raw`(?:\x60[A-Za-z0-9_]+\x60|[A-Za-z0-9_]+)`;
const STATEMENT = new RegExp(
  String.raw`^\s*INSERT\s+INTO\s+(?:TABLE\s+)?(${NAME}(?:\.${NAME})?)\s*(?:\(([^()]*)\))?\s*FORMAT\s+([A-Za-z]+)\s*$`,
  'i',
);
const COLUMN = new RegExp(String.raw`^\s*(${NAME})\s*$`);

function unquote(name: string): string {
  return name.replace(/\x60/g, '');
}

/** The raw insert for a URL statement and body, or undefined when it needs the general path. */
export function rawInsertOf(statement: string, data: Buffer): RawInsert | undefined {
  if (data.byteLength === 0) return undefined;
  const match = STATEMENT.exec(statement);
  if (!match) return undefined;
  const [, target = '', columnList, format = ''] = match;
  if (!RAW_INSERT_FORMATS.has(format)) return undefined;
  let columns: string[] | undefined;
  if (columnList !== undefined) {
    columns = [];
    for (const column of columnList.split(',')) {
      const name = COLUMN.exec(column)?.[1];
      if (name === undefined) return undefined;
      columns.push(unquote(name));
    }
  }
  return { table: unquote(target), columns, format: format as RawInsertFormat, data };
}
