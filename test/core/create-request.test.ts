import { describe, expect, it } from 'vitest';
import { parseCreatePipeRequest } from '../../functions/core/create-request.js';
import { InvalidSettingsError } from '../../functions/core/errors.js';

const settings = {
  tableMappings: [{ sourceDatabaseName: 'shop', sourceCollection: 'orders', targetTable: 'orders' }],
};
const valid = {
  name: 'orders-pipe',
  source: { uri: 'mongodb+srv://user:pw@cluster0.example.net/?retryWrites=true' },
  settings,
};
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pipes/orders-AbCdEf';

function errorsOf(input: unknown) {
  try {
    parseCreatePipeRequest(input);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidSettingsError);
    return [...(err as InvalidSettingsError).fieldErrors];
  }
  throw new Error('expected the request to be refused');
}

describe('create-pipe request', () => {
  it('accepts a minimal request and fills setting defaults', () => {
    const request = parseCreatePipeRequest(valid);
    expect(request.name).toBe('orders-pipe');
    expect(request.settings.pullBatchSize).toBe(100_000);
    expect(request.destination).toBeUndefined();
  });

  it('accepts secret ARNs for the source and the destination', () => {
    const request = parseCreatePipeRequest({
      ...valid,
      source: { secretArn: ARN },
      destination: { database: 'analytics', secretArn: ARN },
    });
    expect(request.source).toEqual({ secretArn: ARN });
    expect(request.destination).toEqual({ database: 'analytics', secretArn: ARN });
  });

  it('refuses a URL beside a destination secret: the endpoint comes from the secret', () => {
    expect(
      errorsOf({
        ...valid,
        destination: { url: 'https://listener.example', database: 'analytics', secretArn: ARN },
      }),
    ).toContainEqual({ path: 'destination.url', message: expect.stringMatching(/comes from the secret/) });
  });

  it('accepts a plain destination with an empty password (local ClickHouse default user)', () => {
    const request = parseCreatePipeRequest({
      ...valid,
      destination: { url: 'http://127.0.0.1:8123', database: 'default', username: 'default', password: '' },
    });
    expect(request.destination).toMatchObject({ username: 'default' });
  });

  it.each([
    ['missing name', { name: undefined }, 'name', /is required/],
    ['empty name', { name: '' }, 'name', /must not be empty/],
    ['name with a space', { name: 'my pipe' }, 'name', /letters, digits/],
    ['long name', { name: 'p'.repeat(65) }, 'name', /at most 64/],
    [
      'http source',
      { source: { uri: 'http://example.com' } },
      'source.uri',
      /mongodb:\/\/ or mongodb\+srv:\/\//,
    ],
    ['hostless source', { source: { uri: 'mongodb://' } }, 'source.uri', /followed by a host/],
    [
      'bad source ARN',
      { source: { secretArn: 'arn:aws:s3:::bucket' } },
      'source.secretArn',
      /Secrets Manager/,
    ],
    ['empty source', { source: {} }, 'source', /either uri .* or secretArn/],
    [
      'both uri and ARN',
      { source: { uri: 'mongodb://h', secretArn: ARN } },
      'source.secretArn',
      /not a known field/,
    ],
    [
      'ftp destination',
      { destination: { url: 'ftp://h', database: 'd', username: 'u', password: 'p' } },
      'destination.url',
      /http:\/\/ or https:\/\//,
    ],
    [
      'bad destination database',
      { destination: { url: 'http://h', database: 'a-b', username: 'u', password: 'p' } },
      'destination.database',
      /letters, digits and underscores/,
    ],
    [
      'destination without credentials',
      { destination: { url: 'http://h', database: 'd' } },
      'destination',
      /url, database, username and password, or database and secretArn/,
    ],
    ['missing settings', { settings: undefined }, 'settings', /is required/],
    [
      'bad nested setting',
      { settings: { ...settings, pullBatchSize: 0 } },
      'settings.pullBatchSize',
      /at least 1/,
    ],
    ['unknown top-level field', { owner: 'me' }, 'owner', /not a known field/],
  ])('%s', (_name, patch, path, message) => {
    expect(errorsOf({ ...valid, ...patch })).toContainEqual({
      path,
      message: expect.stringMatching(message),
    });
  });

  it('reports the exact mapping field', () => {
    const errors = errorsOf({
      ...valid,
      settings: { tableMappings: [{ ...settings.tableMappings[0], targetTable: 'x-y' }] },
    });
    expect(errors).toEqual([
      {
        path: 'settings.tableMappings[0].targetTable',
        message: expect.stringMatching(/letters, digits and underscores/),
      },
    ]);
  });

  it('refuses a body that is not an object', () => {
    expect(errorsOf([])).toEqual([{ path: '', message: 'must be an object, not a list' }]);
  });
});
