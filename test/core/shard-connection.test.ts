import { describe, expect, it } from 'vitest';
import { shardConnectionString, shardHostList } from '../../functions/core/shard-connection.js';

describe("a shard's connection string from the pipe's", () => {
  it("takes listShards' hosts after the set name", () => {
    expect(shardHostList('rs1/h1:27018,h2:27018')).toBe('h1:27018,h2:27018');
    expect(shardHostList('h1:27018')).toBe('h1:27018');
  });

  it('keeps the credentials, database and options; names the shard set; drops what names the mongos', () => {
    const pipe =
      'mongodb://pipe:p%40ss@mongos1:27017,mongos2:27017/shop?authSource=admin&tls=true&tlsCAFile=%2Fca.pem' +
      '&replicaSet=wrong&directConnection=false&loadBalanced=false&appName=pipe';
    expect(shardConnectionString(pipe, 'h1:27018,h2:27018', 'rs 1')).toBe(
      'mongodb://pipe:p%40ss@h1:27018,h2:27018/shop?authSource=admin&tls=true&tlsCAFile=%2Fca.pem' +
        '&appName=pipe&replicaSet=rs%201',
    );
  });

  it('adds a path and the set to a bare string', () => {
    expect(shardConnectionString('mongodb://mongos:27017', 'h1:1', 'rs1')).toBe(
      'mongodb://h1:1/?replicaSet=rs1',
    );
  });

  it('turns TLS on for a mongodb+srv string unless it says otherwise', () => {
    expect(shardConnectionString('mongodb+srv://u:p@cluster.example.net/', 'h1:27017', 'rs1')).toBe(
      'mongodb://u:p@h1:27017/?tls=true&replicaSet=rs1',
    );
    expect(
      shardConnectionString('mongodb+srv://cluster.example.net/?ssl=false&srvMaxHosts=2', 'h1', 'rs1'),
    ).toBe('mongodb://h1/?ssl=false&replicaSet=rs1');
  });

  it('gives null for what does not parse or names no host', () => {
    expect(shardConnectionString('postgres://h/', 'h1', 'rs1')).toBeNull();
    expect(shardConnectionString('mongodb://mongos/', '', 'rs1')).toBeNull();
  });
});
