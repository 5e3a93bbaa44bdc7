import type { DestinationRow } from '../../../functions/core/rows.js';

export function row(id: string, doc: object, version = 0n, deleted: 0 | 1 = 0): DestinationRow {
  return {
    table: 'ignored',
    _id: id,
    doc: JSON.stringify(doc),
    _peerdb_version: version,
    _peerdb_is_deleted: deleted,
  };
}

export function* generatedRows(count: number, docBytes: number, start = 0): Generator<DestinationRow> {
  const padding = 'x'.repeat(Math.max(0, docBytes - 60));
  for (let i = start; i < start + count; i++) {
    yield row(`id-${String(i).padStart(9, '0')}`, { n: i, name: `doc ${i}`, padding });
  }
}
