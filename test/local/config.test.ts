import { describe, expect, it } from 'vitest';
import { LocalConfigError, parseLocalConfig } from '../../local/config.js';

describe('npm start options', () => {
  it('listens on loopback by default', () => {
    expect(parseLocalConfig([], {})).toMatchObject({ host: '127.0.0.1', allowRemote: false });
  });

  it('refuses a host other machines can reach unless --allow-remote says the user means it', () => {
    for (const host of ['0.0.0.0', '192.168.1.20', '::'])
      expect(() => parseLocalConfig(['--host', host], {}), host).toThrow(LocalConfigError);
    expect(() => parseLocalConfig([], { HOST: '0.0.0.0' })).toThrow(/--allow-remote/);
    expect(parseLocalConfig(['--host', '0.0.0.0', '--allow-remote'], {})).toMatchObject({
      host: '0.0.0.0',
      allowRemote: true,
    });
  });

  it('takes every loopback address without it', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1'])
      expect(parseLocalConfig(['--host', host], {}).host).toBe(host);
  });

  it('takes a sync interval of 1 to 86400 seconds for the pipe it creates', () => {
    expect(parseLocalConfig([], {}).syncIntervalSeconds).toBe(2);
    expect(parseLocalConfig(['--sync-interval', '60'], {}).syncIntervalSeconds).toBe(60);
    for (const bad of ['0', '1.5', '86401', 'soon'])
      expect(() => parseLocalConfig(['--sync-interval', bad], {}), bad).toThrow(/sync interval/);
  });
});

describe('--clickhouse-max-memory', () => {
  it('bounds each embedded ClickHouse query to 2 GiB unless told otherwise', () => {
    expect(parseLocalConfig([], {}).clickhouseMaxMemoryBytes).toBe(2 * 1024 ** 3);
    expect(parseLocalConfig(['--clickhouse-max-memory', '4GiB'], {}).clickhouseMaxMemoryBytes).toBe(
      4 * 1024 ** 3,
    );
    expect(parseLocalConfig([], { CLICKHOUSE_MAX_MEMORY: '500M' }).clickhouseMaxMemoryBytes).toBe(
      500_000_000,
    );
    expect(parseLocalConfig(['--clickhouse-max-memory', '0'], {}).clickhouseMaxMemoryBytes).toBe(0);
    expect(parseLocalConfig(['--clickhouse-max-memory', '1073741824'], {}).clickhouseMaxMemoryBytes).toBe(
      2 ** 30,
    );
  });

  it('refuses what is not a size', () => {
    for (const bad of ['lots', '-1', '2 parsecs', ''])
      expect(() => parseLocalConfig([`--clickhouse-max-memory=${bad}`], {}), bad).toThrow(/not a size/);
  });
});
