import { describe, expect, it } from 'vitest';
import { type ShardHost, shardConnectionString, shardHosts } from '../../functions/core/shard-connection.js';

const hostsOf = (listed: string): ShardHost[] => {
  const result = shardHosts(listed);
  if ('refused' in result) throw new Error(result.refused);
  return result.hosts;
};

describe("a shard's hosts as listShards names them", () => {
  it('takes the hosts after the set name, each with its name for the allowlist', () => {
    expect(hostsOf('rs1/h1.example.com:27018,h2:27018')).toEqual([
      { name: 'h1.example.com', address: 'h1.example.com:27018' },
      { name: 'h2', address: 'h2:27018' },
    ]);
    expect(hostsOf('h1:27018')).toEqual([{ name: 'h1', address: 'h1:27018' }]);
  });

  it('accepts DNS names, IPv4 and bracketed IPv6 literals with an optional port 1-65535', () => {
    const accepted = [
      'rs/shard-0.db.example.com.:1',
      'rs/mongo_shard1:65535',
      'rs/10.0.0.255:27018',
      'rs/[::1]:27018',
      'rs/[2001:db8::8a2e:370:7334]',
      'rs/[::ffff:192.0.2.1]:27017',
      'rs/[2001:db8:0:0:0:0:0:1]:27017',
    ];
    for (const listed of accepted) expect(shardHosts(listed), listed).toHaveProperty('hosts');
  });

  it('refuses an entry carrying URI syntax, naming it: the cluster must not add options to the pipe string', () => {
    const refused = [
      'rs0/allowed.example.com:27017/?authMechanism=PLAIN&authSource=$external&appName=',
      'rs0/allowed.example.com:27017/?tlsAllowInvalidCertificates=true',
      'rs0/h1:27018,evil@allowed.example.com:27018',
      'rs0/h1:27018#x',
      'rs0/h1 :27018',
      'rs0/h1%2F:27018',
      'rs0/h1:0',
      'rs0/h1:65536',
      'rs0/h1:',
      'rs0/h1,,h2',
      'rs0/',
      'rs0/-h1',
      'rs0/256.1.1.1',
      'rs0/[fe80::1%25eth0]:27018',
      'rs0/[1::2::3]:27018',
      'rs0/[1:2:3:4:5:6:7:8:9]:27018',
      'rs0/::1',
    ];
    for (const listed of refused)
      expect(shardHosts(listed), listed).toEqual({
        refused: expect.stringMatching(
          /^not connected: listShards names a host that is not host\[:port\] \(".*"\)$/,
        ),
      });
    expect(shardHosts(refused[0] as string)).toEqual({
      refused:
        'not connected: listShards names a host that is not host[:port] ' +
        '("allowed.example.com:27017/?authMechanism=PLAIN&authSource=$external&appName=")',
    });
  });
});

describe("a shard's connection string from the pipe's", () => {
  it('keeps the credentials, database and options; drops what names the mongos', () => {
    const pipe =
      'mongodb://pipe:p%40ss@mongos1:27017,mongos2:27017/shop?authSource=admin&tls=true&tlsCAFile=%2Fca.pem' +
      '&replicaSet=wrong&directConnection=false&loadBalanced=false&appName=pipe';
    expect(shardConnectionString(pipe, hostsOf('rs 1/h1:27018,h2:27018'))).toBe(
      'mongodb://pipe:p%40ss@h1:27018,h2:27018/shop?authSource=admin&tls=true&tlsCAFile=%2Fca.pem&appName=pipe',
    );
  });

  it('adds a path to a bare string', () => {
    expect(shardConnectionString('mongodb://mongos:27017', hostsOf('rs1/h1:1'))).toBe('mongodb://h1:1/');
  });

  it('turns TLS on for a mongodb+srv string unless it says otherwise', () => {
    expect(shardConnectionString('mongodb+srv://u:p@cluster.example.net/', hostsOf('rs1/h1:27017'))).toBe(
      'mongodb://u:p@h1:27017/?tls=true',
    );
    expect(
      shardConnectionString('mongodb+srv://cluster.example.net/?ssl=false&srvMaxHosts=2', hostsOf('rs1/h1')),
    ).toBe('mongodb://h1/?ssl=false');
  });

  it('gives null for what does not parse or names no host', () => {
    expect(shardConnectionString('postgres://h/', hostsOf('rs1/h1'))).toBeNull();
    expect(shardConnectionString('mongodb://mongos/', [])).toBeNull();
  });
});
