import { describe, expect, it } from 'vitest';
import { UnsupportedValueError } from '../../functions/core/errors.js';
import { createTableSql, quoteIdentifier, resyncTableName } from '../../functions/core/table-schema.js';

describe('destination table DDL', () => {
  it('has the ClickPipes columns and engine, with a JSON doc by default', () => {
    expect(createTableSql('analytics', 'orders', { useJsonNativeFormat: true, deleteOnMerge: false })).toBe(
      'CREATE TABLE IF NOT EXISTS `analytics`.`orders` (\n' +
        '  `_id` String,\n' +
        '  `doc` JSON,\n' +
        '  `_peerdb_synced_at` DateTime64(9) DEFAULT now64(),\n' +
        '  `_peerdb_is_deleted` UInt8,\n' +
        '  `_peerdb_version` UInt64\n' +
        ') ENGINE = ReplacingMergeTree(`_peerdb_version`, `_peerdb_is_deleted`)\n' +
        'PRIMARY KEY `_id` ORDER BY `_id`',
    );
  });

  it('uses a String doc and the clean-up settings when asked', () => {
    const sql = createTableSql('analytics', 'orders', { useJsonNativeFormat: false, deleteOnMerge: true });
    expect(sql).toContain('`doc` String,');
    expect(sql).toContain('allow_experimental_replacing_merge_with_cleanup = 1');
    expect(sql).toContain('enable_replacing_merge_with_cleanup_for_min_age_to_force_merge = 1');
  });

  it.each(['a-b', 'a`b', '1a', '', 'x; DROP TABLE y'])('refuses the unsafe identifier %j', (name) => {
    expect(() => quoteIdentifier(name)).toThrow(UnsupportedValueError);
    expect(() => createTableSql('db', name, { useJsonNativeFormat: true, deleteOnMerge: false })).toThrow(
      UnsupportedValueError,
    );
  });

  it('names the resync shadow table', () => {
    expect(resyncTableName('orders')).toBe('orders_resync');
  });
});
