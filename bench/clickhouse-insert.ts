/**
 * Insert throughput through the embedded ClickHouse front with the destination adapter: N rows
 * of about 1 KB (documents with a few fields and padding) in batches, into a table with a JSON
 * or String `doc` column. Prints rows/s and MB/s per batch size.
 * Usage: `tsx bench/clickhouse-insert.ts --rows 200000 --batch 20000 [--string]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ClickHouseDestination } from '../functions/adapters/clickhouse/destination.js';
import type { DestinationRow } from '../functions/core/rows.js';
import { startEmbeddedClickHouse } from '../local/clickhouse/launcher.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '20000' },
    string: { type: 'boolean', default: false },
  },
});
const totalRows = Number(values.rows);
const batchRows = Number(values.batch);
if (!Number.isInteger(totalRows) || totalRows < 1) throw new RangeError(`--rows must be a positive integer`);
if (!Number.isInteger(batchRows) || batchRows < 1) throw new RangeError(`--batch must be a positive integer`);
const useJsonNativeFormat = !values.string;

function* rows(start: number, count: number): Generator<DestinationRow> {
  const padding = 'p'.repeat(880);
  for (let i = start; i < start + count; i++) {
    const doc = {
      _id: i,
      name: `customer ${i}`,
      email: `c${i}@example.com`,
      total: i * 1.5,
      tags: ['a', 'b'],
      padding,
    };
    yield {
      table: 'bench',
      _id: String(i),
      doc: JSON.stringify(doc),
      _peerdb_version: 0n,
      _peerdb_is_deleted: 0,
    };
  }
}

const dataDir = mkdtempSync(join(tmpdir(), 'clickhouse-bench-'));
const engine = await startEmbeddedClickHouse({ dataDir });
const destination = ClickHouseDestination.connect({ url: engine.url });
try {
  const ref = { database: 'bench', table: useJsonNativeFormat ? 'rows_json' : 'rows_string' };
  await destination.ensureDatabase(ref.database);
  await destination.createTable(ref, { useJsonNativeFormat, deleteOnMerge: false });
  let bytes = 0;
  const started = performance.now();
  for (let start = 0; start < totalRows; start += batchRows) {
    const count = Math.min(batchRows, totalRows - start);
    const result = await destination.insertRows({
      ...ref,
      rows: rows(start, count),
      deduplicationToken: `bench-${start}`,
      useJsonNativeFormat,
    });
    bytes += result.bytes;
  }
  const seconds = (performance.now() - started) / 1000;
  const stored = await destination.countRows(ref);
  if (stored !== totalRows) throw new Error(`expected ${totalRows} rows stored, found ${stored}`);
  console.log(
    `ClickHouse ${engine.version} (chDB, own process), doc ${useJsonNativeFormat ? 'JSON' : 'String'}: ` +
      `${totalRows} rows of ~${Math.round(bytes / totalRows)} B in batches of ${batchRows}: ` +
      `${seconds.toFixed(2)} s, ${Math.round(totalRows / seconds)} rows/s, ${(bytes / seconds / 1e6).toFixed(1)} MB/s`,
  );
} finally {
  await destination.close();
  await engine.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
