import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiFixture, call, createRequest, startApi } from './fixtures.js';

let api: ApiFixture;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api?.stop();
});

describe('POST /pipes', () => {
  it('accepts the minimal request: 202, pipe in Provisioning with its tables, create started', async () => {
    const answer = await call(api.url, 'POST', '/pipes', { body: createRequest('minimal', 27123) });
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ name: 'minimal', state: 'Provisioning', operation: 'create' });
    const id = answer.body.id as string;
    expect(answer.headers.get('location')).toBe(`/pipes/${id}`);
    expect(answer.body.tables).toEqual([
      expect.objectContaining({ tableKey: 'shop.orders', targetTable: 'orders', state: 'Pending' }),
    ]);
    const pipe = await api.store.getPipe(id);
    expect(pipe.state).toBe('Provisioning');
    expect(pipe.destination).toEqual(expect.objectContaining({ database: 'default' }));
    expect(pipe.settings).toEqual(
      expect.objectContaining({ syncIntervalSeconds: 60, replicationMode: 'cdc' }),
    );
    expect((await api.store.listTableMappings(id)).map((table) => table.tableKey)).toEqual(['shop.orders']);
    const started = api.starter.started.filter((entry) => entry.input.pipeId === id);
    expect(started).toEqual([
      {
        operation: 'create',
        input: { pipeId: id, expectedState: 'Provisioning', requestedBy: 'local', requestId: `create-${id}` },
      },
    ]);
    expect(answer.body.executionId).toMatch(/^exec-\d+$/);
  });

  it('is idempotent by Idempotency-Key: same key and body → same pipe, one execution; other body → 409', async () => {
    const headers = { 'idempotency-key': 'key-1' };
    const first = await call(api.url, 'POST', '/pipes', { body: createRequest('keyed'), headers });
    const again = await call(api.url, 'POST', '/pipes', { body: createRequest('keyed'), headers });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.executionId).toBe(first.body.executionId);
    expect(api.starter.started.filter((entry) => entry.input.pipeId === first.body.id)).toHaveLength(1);
    const other = await call(api.url, 'POST', '/pipes', { body: createRequest('keyed-other'), headers });
    expect(other.status).toBe(409);
    expect(other.body.error.name).toBe('IdempotencyConflictError');
  });

  it('is idempotent by name without a key; another request with a taken name is a 409', async () => {
    const first = await call(api.url, 'POST', '/pipes', { body: createRequest('named') });
    const again = await call(api.url, 'POST', '/pipes', { body: createRequest('named') });
    expect(again.body.id).toBe(first.body.id);
    const clash = await call(api.url, 'POST', '/pipes', { body: createRequest('named', 27999) });
    expect(clash.status).toBe(409);
    expect(clash.body.error.name).toBe('PipeNameTakenError');
  });

  it('answers bad input with 400 and field paths', async () => {
    const body = createRequest('bad');
    const wrong = {
      ...body,
      nmae: 'typo',
      settings: {
        syncIntervalSeconds: 'often',
        tableMappings: [{ sourceDatabaseName: 'shop', sourceCollection: 'orders', targetTable: '1bad' }],
      },
    };
    const answer = await call(api.url, 'POST', '/pipes', { body: wrong });
    expect(answer.status).toBe(400);
    expect(answer.body.error.name).toBe('InvalidSettingsError');
    const paths = (answer.body.error.fieldErrors as Array<{ path: string }>).map((error) => error.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'nmae',
        'settings.syncIntervalSeconds',
        'settings.tableMappings[0].targetTable',
      ]),
    );
  });

  it('answers a body that is not JSON with 400, and a non-JSON content type with 415', async () => {
    const broken = await call(api.url, 'POST', '/pipes', { raw: '{"name": ' });
    expect(broken.status).toBe(400);
    expect(broken.body.error.fieldErrors[0].message).toMatch(/not valid JSON/);
    const form = await call(api.url, 'POST', '/pipes', {
      raw: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
    const huge = await call(api.url, 'POST', '/pipes', { raw: `"${'x'.repeat(1_100_000)}"` });
    expect(huge.status).toBe(413);
    expect(huge.body.error.name).toBe('PayloadTooLargeError');
  });

  it('requires secret ARNs when plain secrets are not allowed, and a destination without a default', async () => {
    const cloud = await startApi({ allowPlainSecrets: false, defaultDestination: null });
    try {
      const answer = await call(cloud.url, 'POST', '/pipes', { body: createRequest('cloud') });
      expect(answer.status).toBe(400);
      expect(answer.body.error.fieldErrors).toEqual([
        expect.objectContaining({ path: 'source.uri' }),
        expect.objectContaining({ path: 'destination' }),
      ]);
      const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mongo-uri-AbCdEf';
      const noDestination = await call(cloud.url, 'POST', '/pipes', {
        body: { ...createRequest('cloud'), source: { secretArn: arn } },
      });
      expect(noDestination.status).toBe(400);
      expect(noDestination.body.error.fieldErrors).toEqual([
        expect.objectContaining({ path: 'destination' }),
      ]);
      const withPassword = await call(cloud.url, 'POST', '/pipes', {
        body: {
          ...createRequest('cloud'),
          source: { secretArn: arn },
          destination: { url: 'https://ch.example:8443', database: 'db', username: 'u', password: 'p' },
        },
      });
      expect(withPassword.body.error.fieldErrors).toEqual([
        expect.objectContaining({ path: 'destination.password' }),
      ]);
      const good = await call(cloud.url, 'POST', '/pipes', {
        body: {
          ...createRequest('cloud'),
          source: { secretArn: arn },
          destination: { database: 'db', secretArn: arn },
        },
      });
      expect(good.status).toBe(202);
      expect(good.body.source).toEqual({ secretArn: arn, health: null });
    } finally {
      await cloud.stop();
    }
  });
});

describe('GET', () => {
  it('returns the pipe view with settings, tables and progress, without credentials', async () => {
    const body = {
      ...createRequest('secretive'),
      source: { uri: 'mongodb://alice:s3cret@127.0.0.1:27017/?replicaSet=rs0' },
    };
    const created = await call(api.url, 'POST', '/pipes', { body });
    const answer = await call(api.url, 'GET', `/pipes/${created.body.id}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      id: created.body.id,
      name: 'secretive',
      state: 'Provisioning',
      lastError: null,
      allowedCommands: ['delete'],
      tables: [
        {
          tableKey: 'shop.orders',
          progress: { documentsCopied: 0, documentsEstimated: 0, partitionsDone: 0, partitionsTotal: 0 },
        },
      ],
    });
    expect(answer.body.settings.tableMappings).toHaveLength(1);
    expect(JSON.stringify(answer.body)).not.toContain('s3cret');
    expect(answer.body.source.uri).toContain('alice:***@');
  });

  it('answers 404 for unknown pipes and impossible ids, 404 for unknown paths and 405 for wrong methods', async () => {
    const missing = await call(api.url, 'GET', '/pipes/no-such-pipe');
    expect(missing.status).toBe(404);
    expect(missing.body.error.name).toBe('PipeNotFoundError');
    expect((await call(api.url, 'GET', '/pipes/bad%20id')).status).toBe(404);
    expect((await call(api.url, 'GET', '/nothing')).status).toBe(404);
    const wrongMethod = await call(api.url, 'PUT', '/pipes');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST, GET');
  });

  it('lists pipes, filters by state and pages with nextToken', async () => {
    for (const name of ['list-a', 'list-b', 'list-c']) {
      await call(api.url, 'POST', '/pipes', { body: createRequest(name) });
    }
    const all = await call(api.url, 'GET', '/pipes');
    expect(all.status).toBe(200);
    const names = (all.body.pipes as Array<{ name: string }>).map((pipe) => pipe.name);
    expect(names).toEqual(expect.arrayContaining(['list-a', 'list-b', 'list-c']));
    const seen: string[] = [];
    let token: string | null = null;
    for (let page = 0; page < 50; page++) {
      const query: string = token ? `&nextToken=${encodeURIComponent(token)}` : '';
      const answer = await call(api.url, 'GET', `/pipes?limit=2&state=Provisioning${query}`);
      expect(answer.status).toBe(200);
      expect(answer.body.pipes.length).toBeLessThanOrEqual(2);
      seen.push(...answer.body.pipes.map((pipe: { name: string }) => pipe.name));
      token = answer.body.nextToken;
      if (!token) break;
    }
    expect(token).toBeNull();
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(['list-a', 'list-b', 'list-c']));
    const forged = await call(api.url, 'GET', '/pipes?nextToken=not-a-token');
    expect(forged.status).toBe(400);
    expect(forged.body.error.fieldErrors[0].path).toBe('query.nextToken');
    const running = await call(api.url, 'GET', '/pipes?state=Running');
    expect(running.body.pipes).toEqual([]);
    const bad = await call(api.url, 'GET', '/pipes?state=Sleeping&limt=3');
    expect(bad.status).toBe(400);
    expect(bad.body.error.fieldErrors.map((error: { path: string }) => error.path).sort()).toEqual([
      'query.limt',
      'query.state',
    ]);
  });
});

describe('POST /pipes: the trust boundaries of a create request', () => {
  let strict: ApiFixture;
  beforeAll(async () => {
    strict = await startApi({
      allowPlainSecrets: false,
      defaultDestination: null,
      allowedHosts: { source: [], destination: ['ch.example.com', '*.clickhouse.cloud'] },
    });
  });
  afterAll(async () => {
    await strict?.stop();
  });
  const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mongo-clickhouse-pipes/shop-AbCdEf';
  const cloudRequest = (destination: Record<string, unknown>, settings: Record<string, unknown> = {}) => ({
    ...createRequest('trust'),
    source: { secretArn: arn },
    destination,
    settings: { ...createRequest('trust').settings, ...settings },
  });
  const refusal = async (body: unknown, fixture = strict) => {
    const answer = await call(fixture.url, 'POST', '/pipes', { body });
    expect(answer.status, JSON.stringify(answer.body)).toBe(400);
    return (answer.body.error.fieldErrors as { path: string; message: string }[]).map((error) => error.path);
  };

  it('refuses credentials inside a URL in the cloud', async () => {
    const body = cloudRequest({ url: 'https://user:pw@ch.example.com:8443', database: 'd', secretArn: arn });
    expect(await refusal(body)).toContain('destination.url');
  });

  it('refuses a system database as the destination database, like a targetDatabase', async () => {
    for (const database of ['system', 'information_schema', 'INFORMATION_SCHEMA'])
      expect(
        await refusal(
          {
            ...createRequest('sys'),
            destination: { url: 'http://127.0.0.1:8123', database, username: 'u', password: '' },
          },
          api,
        ),
      ).toContain('destination.database');
  });

  it('refuses two mappings onto one table once the destination database fills in', async () => {
    const body = {
      ...createRequest('twice'),
      destination: { url: 'http://127.0.0.1:8123', database: 'default', username: 'u', password: '' },
      settings: {
        tableMappings: [
          { sourceDatabaseName: 'shop', sourceCollection: 'orders', targetTable: 't' },
          {
            sourceDatabaseName: 'shop',
            sourceCollection: 'users',
            targetTable: 't',
            targetDatabase: 'default',
          },
        ],
      },
    };
    expect(await refusal(body, api)).toEqual(['settings.tableMappings[1].targetTable']);
  });

  it('refuses a destination host outside the deployment allowlist, naming it', async () => {
    const local = await startApi({
      allowedHosts: { source: ['127.0.0.1'], destination: ['ch.example.com'] },
    });
    try {
      const body = {
        ...createRequest('hosts'),
        destination: { url: 'https://evil.example:8443', database: 'd', username: 'u', password: 'p' },
      };
      expect(await refusal(body, local)).toEqual(['destination.url']);
      const source = {
        ...createRequest('hosts2'),
        source: { uri: 'mongodb://u:p@db.elsewhere.example:27017/' },
      };
      expect(await refusal(source, local)).toContain('source.uri');
    } finally {
      await local.stop();
    }
  });
});
