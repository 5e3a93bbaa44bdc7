import { describe, expect, it } from 'vitest';
import { InvalidSettingsError } from '../../functions/core/errors.js';
import { MAX_TABLE_NAME_LENGTH, parseSettings, settingDefaults } from '../../functions/core/settings.js';

const mapping = { sourceDatabaseName: 'shop', sourceCollection: 'orders', targetTable: 'orders' };

function fieldErrorsOf(input: unknown): { path: string; message: string }[] {
  try {
    parseSettings(input, ['settings']);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidSettingsError);
    expect((err as InvalidSettingsError).disposition).toBe('fatal');
    return [...(err as InvalidSettingsError).fieldErrors];
  }
  throw new Error('expected the settings to be refused');
}

describe('settings defaults', () => {
  it('fills every default of the brief', () => {
    expect(settingDefaults()).toEqual({
      replicationMode: 'cdc',
      syncIntervalSeconds: 60,
      pullBatchSize: 100_000,
      snapshotNumRowsPerPartition: 250_000,
      snapshotNumberOfParallelTables: 1,
      initialLoadParallelism: 4,
      deleteOnMerge: false,
      useJsonNativeFormat: true,
      readPreference: 'primary',
      autoResyncOnHistoryLoss: false,
      excludedOperationTypes: [],
      snapshotBatchMaxRows: 50_000,
      snapshotBatchMaxBytes: 33_554_432,
      cdcTimeBudgetSeconds: 840,
    });
  });

  it('keeps values the user gave', () => {
    const settings = parseSettings({
      tableMappings: [{ ...mapping, targetDatabase: 'analytics' }],
      replicationMode: 'cdc_only',
      readPreference: 'secondaryPreferred',
      excludedOperationTypes: ['delete'],
      syncIntervalSeconds: 300,
    });
    expect(settings.replicationMode).toBe('cdc_only');
    expect(settings.readPreference).toBe('secondaryPreferred');
    expect(settings.excludedOperationTypes).toEqual(['delete']);
    expect(settings.syncIntervalSeconds).toBe(300);
    expect(settings.tableMappings[0]?.targetDatabase).toBe('analytics');
  });

  it('takes a sync interval below a minute: the continuous CDC mode', () => {
    for (const syncIntervalSeconds of [1, 2, 59])
      expect(parseSettings({ tableMappings: [mapping], syncIntervalSeconds }).syncIntervalSeconds).toBe(
        syncIntervalSeconds,
      );
  });
});

const RULES: [string, Record<string, unknown>, string, RegExp][] = [
  [
    'mode',
    { replicationMode: 'stream' },
    'settings.replicationMode',
    /must be one of: cdc, snapshot, cdc_only/,
  ],
  ['interval of zero', { syncIntervalSeconds: 0 }, 'settings.syncIntervalSeconds', /at least 1/],
  ['interval above a day', { syncIntervalSeconds: 86_401 }, 'settings.syncIntervalSeconds', /at most 86400/],
  ['fractional interval', { syncIntervalSeconds: 60.5 }, 'settings.syncIntervalSeconds', /whole number/],
  [
    'batch size as text',
    { pullBatchSize: '100' },
    'settings.pullBatchSize',
    /must be a number, not a string/,
  ],
  ['batch size zero', { pullBatchSize: 0 }, 'settings.pullBatchSize', /at least 1/],
  [
    'tiny partitions',
    { snapshotNumRowsPerPartition: 10 },
    'settings.snapshotNumRowsPerPartition',
    /at least 1000/,
  ],
  [
    'parallel tables',
    { snapshotNumberOfParallelTables: 17 },
    'settings.snapshotNumberOfParallelTables',
    /at most 16/,
  ],
  ['parallelism', { initialLoadParallelism: 0 }, 'settings.initialLoadParallelism', /at least 1/],
  ['deleteOnMerge', { deleteOnMerge: 'yes' }, 'settings.deleteOnMerge', /true or false/],
  ['useJsonNativeFormat', { useJsonNativeFormat: 1 }, 'settings.useJsonNativeFormat', /true or false/],
  [
    'readPreference',
    { readPreference: 'secondaryOnly' },
    'settings.readPreference',
    /primary, primaryPreferred/,
  ],
  [
    'autoResync',
    { autoResyncOnHistoryLoss: null },
    'settings.autoResyncOnHistoryLoss',
    /true or false, not null/,
  ],
  [
    'excluded type',
    { excludedOperationTypes: ['drop'] },
    'settings.excludedOperationTypes[0]',
    /insert, update/,
  ],
  [
    'all excluded',
    { excludedOperationTypes: ['insert', 'update', 'replace', 'delete'] },
    'settings.excludedOperationTypes',
    /replicate nothing/,
  ],
  [
    'excluded twice',
    { excludedOperationTypes: ['delete', 'delete'] },
    'settings.excludedOperationTypes',
    /once/,
  ],
  ['batch rows', { snapshotBatchMaxRows: 0 }, 'settings.snapshotBatchMaxRows', /at least 1/],
  ['batch bytes', { snapshotBatchMaxBytes: 1000 }, 'settings.snapshotBatchMaxBytes', /at least 1048576/],
  ['time budget', { cdcTimeBudgetSeconds: 900 }, 'settings.cdcTimeBudgetSeconds', /at most 840/],
  ['time budget too short', { cdcTimeBudgetSeconds: 10 }, 'settings.cdcTimeBudgetSeconds', /at least 30/],
  ['unknown setting', { pullBatchSise: 5 }, 'settings.pullBatchSise', /not a known field/],
  ['no mappings', { tableMappings: [] }, 'settings.tableMappings', /at least one collection/],
  ['mappings missing', { tableMappings: undefined }, 'settings.tableMappings', /is required/],
];

const MAPPING_RULES: [string, Record<string, unknown>, string, RegExp][] = [
  ['empty db', { sourceDatabaseName: '' }, 'sourceDatabaseName', /must not be empty/],
  ['db with a dot', { sourceDatabaseName: 'a.b' }, 'sourceDatabaseName', /must not contain/],
  ['db with a space', { sourceDatabaseName: 'a b' }, 'sourceDatabaseName', /must not contain/],
  ['db too long', { sourceDatabaseName: 'd'.repeat(64) }, 'sourceDatabaseName', /at most 63 bytes/],
  ['system db', { sourceDatabaseName: 'admin' }, 'sourceDatabaseName', /system databases/],
  ['empty collection', { sourceCollection: '' }, 'sourceCollection', /must not be empty/],
  ['collection with $', { sourceCollection: 'a$b' }, 'sourceCollection', /must not contain \$/],
  ['system collection', { sourceCollection: 'system.views' }, 'sourceCollection', /internal to MongoDB/],
  ['namespace too long', { sourceCollection: 'c'.repeat(260) }, 'sourceCollection', /at most 255 bytes/],
  ['table with a dash', { targetTable: 'my-table' }, 'targetTable', /letters, digits and underscores/],
  ['table starting with a digit', { targetTable: '1table' }, 'targetTable', /start with a letter/],
  ['table with a quote', { targetTable: 'a`b' }, 'targetTable', /letters, digits and underscores/],
  ['table too long', { targetTable: 't'.repeat(MAX_TABLE_NAME_LENGTH + 1) }, 'targetTable', /at most 120/],
  ['resync suffix', { targetTable: 'orders_resync' }, 'targetTable', /reserved for resync/],
  ['target database', { targetDatabase: 'my db' }, 'targetDatabase', /letters, digits and underscores/],
  ['system target', { targetDatabase: 'system' }, 'targetDatabase', /ClickHouse system databases/],
  ['unknown mapping field', { targetSchema: 'x' }, 'targetSchema', /not a known field/],
];

describe('every rule names the field and the rule', () => {
  it.each(RULES)('%s', (_name, patch, path, message) => {
    const errors = fieldErrorsOf({ tableMappings: [mapping], ...patch });
    expect(errors).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  it.each(MAPPING_RULES)('table mapping: %s', (_name, patch, field, message) => {
    const errors = fieldErrorsOf({
      tableMappings: [mapping, { ...mapping, targetTable: 'other', sourceCollection: 'c2', ...patch }],
    });
    expect(errors).toContainEqual({
      path: `settings.tableMappings[1].${field}`,
      message: expect.stringMatching(message),
    });
  });

  it('refuses two collections into one table, pointing at the first', () => {
    const errors = fieldErrorsOf({ tableMappings: [mapping, { ...mapping, sourceCollection: 'archive' }] });
    expect(errors).toEqual([
      { path: 'settings.tableMappings[1].targetTable', message: expect.stringMatching(/tableMappings\[0\]/) },
    ]);
  });

  it('allows one table name in two target databases', () => {
    const settings = parseSettings({
      tableMappings: [mapping, { ...mapping, sourceCollection: 'archive', targetDatabase: 'old' }],
    });
    expect(settings.tableMappings).toHaveLength(2);
  });

  it('refuses one collection mapped twice', () => {
    const errors = fieldErrorsOf({ tableMappings: [mapping, { ...mapping, targetTable: 'orders2' }] });
    expect(errors).toEqual([
      {
        path: 'settings.tableMappings[1].sourceCollection',
        message: expect.stringMatching(/already mapped/),
      },
    ]);
  });

  it('reports every broken rule at once, each at its own path', () => {
    const errors = fieldErrorsOf({
      tableMappings: [{ ...mapping, targetTable: '' }],
      pullBatchSize: -1,
      readPreference: 1,
    });
    expect(errors).toEqual([
      { path: 'settings.pullBatchSize', message: 'pull batch size must be at least 1' },
      { path: 'settings.readPreference', message: expect.stringMatching(/^must be one of: primary/) },
      // An empty name stops there: the character rule would only repeat the same problem.
      { path: 'settings.tableMappings[0].targetTable', message: 'table name must not be empty' },
    ]);
  });

  it('refuses a settings value that is not an object', () => {
    expect(fieldErrorsOf('fast')).toEqual([{ path: 'settings', message: 'must be an object, not a string' }]);
  });
});
