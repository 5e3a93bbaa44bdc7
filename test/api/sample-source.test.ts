import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoPipeStore } from '../../functions/adapters/dynamodb/store.js';
import { MongoCollectionSampler } from '../../functions/adapters/mongodb/sample-source.js';
import type { ApiDeps } from '../../functions/api/deps.js';
import { parseCreatePipeRequest } from '../../functions/core/create-request.js';
import { resolveSourceUri } from '../../functions/handlers/secrets.js';
import type { SecretOwners } from '../../functions/ports/secrets.js';
import { localApiDeps } from '../../local/api/deps.js';
import { type LocalApiServer, startLocalApiServer } from '../../local/api/server.js';
import { DEMO_DATABASE, seedSampleData } from '../../local/demo/sample-data.js';
import { type ReplicaSetHandle, startReplicaSet } from '../../simulator/index.js';
import { type LocalDynamo, startDynalite } from '../support/dynalite.js';
import { call, RecordingStarter } from './fixtures.js';

const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop-AbCdEf';
const CALLER = 'arn:aws:iam::123456789012:user/analyst';

let rs: ReplicaSetHandle;
let dynamo: LocalDynamo;
const servers: LocalApiServer[] = [];

/** The local API as `npm start` builds it (its sampler included), with `change` applied to its deps. */
async function serve(change: (deps: ApiDeps) => ApiDeps = (deps) => deps): Promise<string> {
  const store = new DynamoPipeStore({ client: dynamo.newClient(), tableName: dynamo.tableName });
  const deps = localApiDeps({
    store,
    starter: new RecordingStarter(),
    defaultDestination: { url: 'http://127.0.0.1:8123', database: 'default' },
    log: () => undefined,
  });
  const server = await startLocalApiServer({ deps: change(deps), actor: CALLER });
  servers.push(server);
  return server.url;
}

beforeAll(async () => {
  rs = await startReplicaSet({ noopIntervalMs: 0 });
  dynamo = await startDynalite();
  const client = new MongoClient(rs.uri);
  try {
    await seedSampleData(client.db(DEMO_DATABASE), { orders: 300, customers: 100, products: 50 });
  } finally {
    await client.close();
  }
}, 60_000);

afterAll(async () => {
  for (const server of servers) await server.stop();
  await dynamo?.stop();
  await rs?.stop();
});

const sample = (url: string, body: unknown) => call(url, 'POST', '/sources/sample', { body });

describe('POST /sources/sample', () => {
  it("describes the demo orders and suggests columns a create request's columns accept", async () => {
    const url = await serve();
    const answer = await sample(url, {
      source: { uri: rs.uri },
      database: 'shop',
      collection: 'orders',
      sampleSize: 200,
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      database: 'shop',
      collection: 'orders',
      sampleSize: 200,
      documents: 200,
    });
    const byPath = Object.fromEntries(answer.body.paths.map((path: { path: string }) => [path.path, path]));
    expect(byPath.status).toMatchObject({
      present: 200,
      presentShare: 1,
      types: [{ type: 'string', count: 200, share: 1 }],
      suggestedColumn: { path: 'status', name: 'status', type: 'LowCardinality(String)' },
    });
    expect(byPath.placedAt.suggestedColumn.type).toBe('DateTime64(3)');
    expect(byPath.total.suggestedColumn.type).toBe('Float64');
    expect(byPath['lines.0.quantity'].suggestedColumn).toMatchObject({
      name: 'lines_0_quantity',
      type: 'Int32',
    });
    expect(byPath.lines.elementTypes).toEqual([expect.objectContaining({ type: 'object', share: 1 })]);
    const columns = answer.body.suggestedColumns;
    expect(columns.length).toBeGreaterThanOrEqual(6);
    const request = parseCreatePipeRequest({
      name: 'pasted',
      source: { uri: rs.uri },
      settings: {
        replicationMode: 'cdc',
        tableMappings: [
          { sourceDatabaseName: 'shop', sourceCollection: 'orders', targetTable: 'orders', columns },
        ],
      },
    });
    expect(request.settings.tableMappings[0]?.columns).toEqual(columns);
  });

  it('answers 404 naming the collection when it does not exist', async () => {
    const url = await serve();
    const answer = await sample(url, { source: { uri: rs.uri }, database: 'shop', collection: 'order' });
    expect(answer.status).toBe(404);
    expect(answer.body.error).toMatchObject({ name: 'CollectionNotFoundError' });
    expect(answer.body.error.message).toContain('order');
  });

  it('refuses a sample size over 10,000 and a missing source', async () => {
    const url = await serve();
    const tooBig = await sample(url, {
      source: { uri: rs.uri },
      database: 'shop',
      collection: 'orders',
      sampleSize: 10_001,
    });
    expect(tooBig.status).toBe(400);
    expect(tooBig.body.error.fieldErrors).toEqual([
      { path: 'sampleSize', message: 'sampleSize must be at most 10000' },
    ]);
    const noSource = await sample(url, { database: 'shop', collection: 'orders' });
    expect(noSource.status).toBe(400);
    expect(noSource.body.error.fieldErrors[0].path).toBe('source');
  });

  it('bounds the paths reported and says so', async () => {
    const url = await serve();
    const answer = await sample(url, {
      source: { uri: rs.uri },
      database: 'shop',
      collection: 'orders',
      sampleSize: 50,
      maxPaths: 3,
    });
    expect(answer.status).toBe(200);
    expect(answer.body.paths).toHaveLength(3);
    expect(answer.body.pathsTruncated).toBe(true);
    expect(answer.body.pathsFound).toBeGreaterThan(3);
  });

  it("applies a create request's source rules: no URI in the cloud, allowed hosts, owned secrets", async () => {
    const owners: SecretOwners = {
      ownersOf: async () => ({ owners: ['arn:aws:iam::123456789012:user/other'] }),
    };
    const url = await serve((deps) => ({
      ...deps,
      config: {
        ...deps.config,
        allowPlainSecrets: false,
        allowedHosts: { source: ['db.internal'], destination: [] },
        secretOwners: owners,
      },
    }));
    const withUri = await sample(url, { source: { uri: rs.uri }, database: 'shop', collection: 'orders' });
    expect(withUri.status).toBe(400);
    expect(withUri.body.error.fieldErrors.map((error: { message: string }) => error.message)).toEqual([
      expect.stringContaining('does not accept connection strings'),
      expect.stringContaining("is not among this deployment's allowed source hosts"),
    ]);
    const notOwned = await sample(url, {
      source: { secretArn: SECRET },
      database: 'shop',
      collection: 'orders',
    });
    expect(notOwned.status).toBe(403);
    expect(notOwned.body.error.fieldErrors[0].message).toContain(`does not list ${CALLER}`);
  });

  it('reads a secret the caller owns', async () => {
    const owners: SecretOwners = { ownersOf: async () => ({ owners: [CALLER] }) };
    const secrets = async (arn: string) => (arn === SECRET ? JSON.stringify({ uri: rs.uri }) : '');
    const url = await serve((deps) => ({
      ...deps,
      config: { ...deps.config, allowPlainSecrets: false, secretOwners: owners },
      sampler: new MongoCollectionSampler({ resolveUri: (source) => resolveSourceUri(source, { secrets }) }),
    }));
    const answer = await sample(url, {
      source: { secretArn: SECRET },
      database: 'shop',
      collection: 'customers',
      sampleSize: 20,
    });
    expect(answer.status).toBe(200);
    expect(answer.body.documents).toBe(20);
  });

  it('answers 502 when the source cannot be reached, without its credentials', async () => {
    const url = await serve((deps) => ({
      ...deps,
      sampler: new MongoCollectionSampler({
        resolveUri: async () => 'mongodb://user:hunter2@127.0.0.1:9/',
        serverSelectionTimeoutMs: 500,
      }),
    }));
    const answer = await sample(url, {
      source: { uri: 'mongodb://user:hunter2@127.0.0.1:9/' },
      database: 'shop',
      collection: 'orders',
    });
    expect(answer.status).toBe(502);
    expect(answer.body.error.name).toBe('SourceUnreachableError');
    expect(JSON.stringify(answer.body)).not.toContain('hunter2');
  });

  it('answers 504 when reading the sample takes longer than its bound', async () => {
    const url = await serve((deps) => ({
      ...deps,
      sampler: new MongoCollectionSampler({ resolveUri: async () => rs.uri, timeoutMs: 0 }),
    }));
    const answer = await sample(url, { source: { uri: rs.uri }, database: 'shop', collection: 'orders' });
    expect(answer.status).toBe(504);
    expect(answer.body.error).toMatchObject({ name: 'SampleTimeoutError' });
  });

  it('stops at the byte bound and says so', async () => {
    const url = await serve((deps) => ({
      ...deps,
      sampler: new MongoCollectionSampler({ resolveUri: async () => rs.uri, maxBytes: 2_000 }),
    }));
    const answer = await sample(url, {
      source: { uri: rs.uri },
      database: 'shop',
      collection: 'orders',
      sampleSize: 100,
    });
    expect(answer.status).toBe(200);
    expect(answer.body.stoppedAtByteLimit).toBe(true);
    expect(answer.body.bytes).toBeLessThanOrEqual(2_000);
    expect(answer.body.documents).toBeLessThan(100);
  });
});
