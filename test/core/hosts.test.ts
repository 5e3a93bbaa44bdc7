import { describe, expect, it } from 'vitest';
import { hasUserInfo, hostAllowed, mongoHostsOf, urlHostOf } from '../../functions/core/hosts.js';

describe('host allowlists', () => {
  it('an empty list allows every host', () => {
    expect(hostAllowed('anything.example', [])).toBe(true);
  });

  it.each([
    ['ch.team-a.example', ['ch.team-a.example'], true],
    ['CH.Team-A.example.', ['ch.team-a.example'], true],
    ['a.b.clickhouse.cloud', ['*.clickhouse.cloud'], true],
    // The pattern's domain itself, a look-alike suffix and another host are refused.
    ['clickhouse.cloud', ['*.clickhouse.cloud'], false],
    ['evilclickhouse.cloud', ['*.clickhouse.cloud'], false],
    ['clickhouse.cloud.evil.example', ['*.clickhouse.cloud'], false],
    ['listener.example', ['ch.team-a.example', '*.clickhouse.cloud'], false],
  ])('%s against %j: %s', (host, patterns, expected) => {
    expect(hostAllowed(host, patterns)).toBe(expected);
  });

  it('reads every seed host of a MongoDB URI, without credentials or ports', () => {
    expect(mongoHostsOf('mongodb://u:p%40w@a.example:27017,b.example,[::1]:27018/db?replicaSet=rs')).toEqual([
      'a.example',
      'b.example',
      '::1',
    ]);
    expect(mongoHostsOf('mongodb+srv://u:p@cluster0.mongodb.net/?retryWrites=true')).toEqual([
      'cluster0.mongodb.net',
    ]);
    expect(mongoHostsOf('http://a.example')).toEqual([]);
  });

  it('reads the host of a URL and whether it carries credentials', () => {
    expect(urlHostOf('https://ch.example:8443/path')).toBe('ch.example');
    expect(urlHostOf('http://[::1]:8123')).toBe('::1');
    expect(urlHostOf('not a url')).toBeNull();
    expect(hasUserInfo('https://user:pw@ch.example')).toBe(true);
    expect(hasUserInfo('https://user@ch.example')).toBe(true);
    expect(hasUserInfo('https://ch.example')).toBe(false);
  });
});
