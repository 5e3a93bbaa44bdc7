/**
 * A source secret's `caBundle` (the CA Amazon DocumentDB's certificates chain to): the resolved
 * connection string makes the real driver verify the server against that bundle. The server is
 * the simulator behind a TLS terminator on loopback whose certificate a throw-away CA signed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSourceUri, type SecretReader } from '../../functions/handlers/secrets.js';
import { type ReplicaSetHandle, startReplicaSet } from '../../simulator/index.js';

const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:docdb-AbCdEf';

let dir: string;
let rs: ReplicaSetHandle;
let terminator: Server;
let port: number;
let caBundle: string;

/** A CA and a server certificate for 127.0.0.1 it signed, made with the openssl CLI. */
function makeCertificates(): { ca: string; cert: string; key: string } {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=test-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
  ]);
  run([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
  ]);
  run([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-out',
    'server.pem',
    '-extfile',
    'san.ext',
  ]);
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  return { ca: read('ca.pem'), cert: read('server.pem'), key: read('server.key') };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ca-bundle-test-'));
  execFileSync('sh', ['-c', 'printf "subjectAltName=IP:127.0.0.1\\n" > san.ext'], { cwd: dir });
  const { ca, cert, key } = makeCertificates();
  caBundle = ca;
  rs = await startReplicaSet({ members: 1, flavor: 'documentdb', noopIntervalMs: 0 });
  await rs.waitForPrimary();
  const member = rs.members[0];
  if (!member) throw new Error('no member');
  terminator = createTlsServer({ cert, key }, (socket) => {
    const upstream = connect(member.port, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    const end = () => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => terminator.listen(0, '127.0.0.1', resolve));
  port = (terminator.address() as { port: number }).port;
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => terminator?.close(resolve));
  await rs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const secrets =
  (value: unknown): SecretReader =>
  async () =>
    JSON.stringify(value);

async function pings(uri: string): Promise<unknown> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 2_000 });
  try {
    return await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close();
  }
}

describe("a source secret's caBundle", () => {
  it('makes the driver trust the server the bundle signed, and only with it', async () => {
    const uri = `mongodb://127.0.0.1:${port}/?directConnection=true`;
    const resolved = await resolveSourceUri({ secretArn: SECRET }, { secrets: secrets({ uri, caBundle }) });
    expect(resolved).toMatch(/[?&]tls=true&tlsCAFile=/);
    await expect(pings(resolved)).resolves.toMatchObject({ ok: 1 });
    await expect(pings(`${uri}&tls=true`)).rejects.toThrow();
  });

  it('writes one file per bundle and refuses a bundle given twice', async () => {
    const plain = 'mongodb://db.cluster-x.eu-west-1.docdb.amazonaws.com:27017';
    const first = await resolveSourceUri(
      { secretArn: SECRET },
      { secrets: secrets({ uri: plain, caBundle }) },
    );
    const again = await resolveSourceUri(
      { secretArn: SECRET },
      { secrets: secrets({ uri: plain, caBundle }) },
    );
    expect(first).toBe(again);
    expect(first.startsWith(`${plain}/?tls=true&tlsCAFile=`)).toBe(true);
    const path = decodeURIComponent(first.split('tlsCAFile=')[1] as string);
    expect(readFileSync(path, 'utf8')).toBe(caBundle);
    await expect(
      resolveSourceUri(
        { secretArn: SECRET },
        { secrets: secrets({ uri: `${plain}/?tlsCAFile=/etc/ca.pem`, caBundle }) },
      ),
    ).rejects.toThrow('both as caBundle and as tlsCAFile');
  });
});
