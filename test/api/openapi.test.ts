import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiApp } from '../../functions/api/app.js';
import type { ApiDeps } from '../../functions/api/deps.js';
import { apiDocument } from '../../functions/api/document.js';
import { OPENAPI_FILE } from '../../local/api/write-openapi.js';
import { type Answer, type ApiFixture, call, createRequest, driveTo, startApi } from './fixtures.js';
import { doc, type Json, validatorFor } from './openapi-schema.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function documentedOperations(): string[] {
  return Object.entries(doc.paths as Json).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((key) => METHODS.includes(key))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );
}

type ServedRoutes = { routes: ReadonlyArray<{ method: string; path: string }> };

/** Every method and path the app routes to a handler, as OpenAPI spells them (the 405 answers are ALL). */
function servedOperations(app: ServedRoutes): string[] {
  return app.routes
    .filter((route) => route.method !== 'ALL')
    .map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, '{$1}')}`);
}

const undocumented = (app: ServedRoutes) =>
  servedOperations(app).filter((op) => !documentedOperations().includes(op));

/** The app as both fronts build it; no request reaches its dependencies here. */
const servedApp = () => apiApp({} as ApiDeps, () => 'test');

function responseSpec(template: string, method: string, status: number): Json | undefined {
  const spec = doc.paths[template]?.[method.toLowerCase()]?.responses?.[String(status)];
  if (spec?.$ref) return doc.components.responses[String(spec.$ref).split('/').pop() as string];
  return spec;
}

/** Each operation's JSON request body schema, by operation. */
function requestBodies(document: Json): Record<string, Json> {
  return Object.fromEntries(
    Object.entries(document.paths as Json).flatMap(([path, item]) =>
      METHODS.flatMap((method) => {
        const schema = item[method]?.requestBody?.content?.['application/json']?.schema;
        return schema ? [[`${method.toUpperCase()} ${path}`, schema]] : [];
      }),
    ),
  );
}

/**
 * Every property under `schema` (through $refs, unions, items and nested objects) that says
 * nothing about itself: a property is described by its own description, or by that of the
 * component it refers to.
 */
function undescribedProperties(document: Json, schema: Json, at: string, seen = new Set<string>()): string[] {
  const resolve = (ref: string): Json => document.components.schemas[ref.split('/').pop() as string];
  const described = (property: Json): boolean =>
    typeof property.description === 'string' ||
    (property.$ref !== undefined && described(resolve(property.$ref))) ||
    (property.allOf ?? []).some(described);
  if (schema.$ref !== undefined) {
    if (seen.has(schema.$ref)) return [];
    return undescribedProperties(document, resolve(schema.$ref), at, new Set(seen).add(schema.$ref));
  }
  const branches = ['anyOf', 'oneOf'].flatMap((key) =>
    (schema[key] ?? []).flatMap((branch: Json, index: number) =>
      undescribedProperties(document, branch, `${at}<${index}>`, seen),
    ),
  );
  const parts = (schema.allOf ?? []).flatMap((part: Json) => undescribedProperties(document, part, at, seen));
  const items = schema.items ? undescribedProperties(document, schema.items, `${at}[]`, seen) : [];
  const properties = Object.entries((schema.properties ?? {}) as Json).flatMap(([name, property]) => {
    const path = at === '' ? name : `${at}.${name}`;
    return [...(described(property) ? [] : [path]), ...undescribedProperties(document, property, path, seen)];
  });
  return [...branches, ...parts, ...items, ...properties];
}

const undescribedInBodies = (document: Json) =>
  Object.entries(requestBodies(document)).flatMap(([operation, schema]) =>
    undescribedProperties(document, schema, '').map((path) => `${operation} ${path}`),
  );

const exercised = new Set<string>();

/** Sends a real request and checks status and body against the operation's documentation. */
async function conforming(
  method: string,
  template: string,
  path: string,
  options: Parameters<typeof call>[3] = {},
): Promise<Answer> {
  const answer = await call(api.url, method, path, options);
  const spec = responseSpec(template, method, answer.status);
  expect(spec, `${method} ${template} answered ${answer.status}, which is not documented`).toBeDefined();
  const schema = spec?.content?.['application/json']?.schema;
  if (schema) {
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    const validate = validatorFor(schema.$ref);
    const valid = validate(answer.body);
    expect(valid, `${method} ${path} ${answer.status}: ${JSON.stringify(validate.errors)}`).toBe(true);
  }
  exercised.add(`${method} ${template}`);
  return answer;
}

let api: ApiFixture;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api?.stop();
});

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 and lists exactly the routes the app serves', () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(documentedOperations().sort()).toEqual(servedOperations(servedApp()).sort());
    expect(documentedOperations()).toHaveLength(10);
  });

  it('would notice a route served without documentation', () => {
    const app = servedApp();
    app.get('/pipes/:id/secrets', (c) => c.json({}));
    expect(undocumented(app)).toEqual(['GET /pipes/{id}/secrets']);
  });

  it('is published as generated: functions/api/openapi.json is what `npm run openapi` writes', () => {
    const published = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'));
    expect(published, 'run `npm run openapi`').toEqual(JSON.parse(JSON.stringify(apiDocument())));
  });

  it('describes every property of every request body, settings included', () => {
    expect(Object.keys(requestBodies(doc))).toEqual(
      expect.arrayContaining(['POST /pipes', 'PATCH /pipes/{id}']),
    );
    expect(undescribedInBodies(doc), 'describe them in the zod schemas (.describe)').toEqual([]);
  });

  it('would notice a setting added without a description', () => {
    const withNewSetting = structuredClone(doc);
    for (const name of ['Settings', 'SettingsUpdate']) {
      withNewSetting.components.schemas[name].properties.newSetting = { type: 'integer' };
    }
    delete withNewSetting.components.schemas.Source.anyOf[0].properties.uri.description;
    expect(undescribedInBodies(withNewSetting).sort()).toEqual(
      [
        ...undescribedInBodies(doc),
        'PATCH /pipes/{id} settings.newSetting',
        'POST /pipes settings.newSetting',
        'POST /pipes source<0>.uri',
        'POST /preflight source<0>.uri',
        'POST /sources/sample source<0>.uri',
      ].sort(),
    );
  });

  it('has request examples that validate against their schemas', () => {
    for (const operation of documentedOperations()) {
      const [method, path] = operation.split(' ') as [string, string];
      const body = doc.paths[path][method.toLowerCase()].requestBody?.content?.['application/json'];
      if (!body?.example) continue;
      const validate = validatorFor(body.schema.$ref);
      expect(validate(body.example), `${operation}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('describes every status and body of real requests through the local server', async () => {
    const minimal = doc.paths['/pipes'].post.requestBody.content['application/json'].example;
    const created = await conforming('POST', '/pipes', '/pipes', { body: minimal });
    expect(created.status).toBe(202);
    const id = created.body.id as string;
    await conforming('POST', '/pipes', '/pipes', { body: { ...minimal, name: 'x', sources: 1 } });
    await conforming('POST', '/pipes', '/pipes', { body: createRequest('shop', 1) });
    await conforming('POST', '/pipes', '/pipes', { raw: 'a=b', headers: { 'content-type': 'text/plain' } });
    await conforming('GET', '/pipes', '/pipes');
    await conforming('GET', '/pipes', '/pipes?state=Provisioning&limit=1');
    await conforming('GET', '/pipes', '/pipes?limit=0');
    await conforming('GET', '/pipes/{id}', `/pipes/${id}`);
    await conforming('GET', '/pipes/{id}', '/pipes/unknown');
    await conforming('PATCH', '/pipes/{id}/state', `/pipes/${id}/state`, { body: { command: 'pause' } });
    await conforming('PATCH', '/pipes/{id}/state', `/pipes/${id}/state`, { body: { command: 'nap' } });
    await conforming('PATCH', '/pipes/{id}/state', '/pipes/unknown/state', { body: { command: 'pause' } });
    await driveTo(api.store, id, ['provisioned', 'destinationReady', 'snapshotDone']);
    await conforming('PATCH', '/pipes/{id}/state', `/pipes/${id}/state`, { body: { command: 'pause' } });
    await conforming('PATCH', '/pipes/{id}', `/pipes/${id}`, { body: { settings: { pullBatchSize: 10 } } });
    await driveTo(api.store, id, ['pause', 'batchDrained']);
    await conforming('PATCH', '/pipes/{id}', `/pipes/${id}`, { body: { settings: { pullBatchSize: 10 } } });
    const patchExample = doc.paths['/pipes/{id}'].patch.requestBody.content['application/json'].example;
    const added = await conforming('PATCH', '/pipes/{id}', `/pipes/${id}`, { body: patchExample });
    expect(added.status).toBe(202);
    await conforming('PATCH', '/pipes/{id}', `/pipes/${id}`, { body: {} });
    await conforming('PATCH', '/pipes/{id}', '/pipes/unknown', { body: { settings: {} } });
    await conforming('GET', '/pipes/{id}/history', `/pipes/${id}/history?limit=2`);
    await conforming('GET', '/pipes/{id}/history', `/pipes/${id}/history?limit=x`);
    await conforming('GET', '/pipes/{id}/history', '/pipes/unknown/history');
    await api.store.recordCdcSample(id, {
      at: 1,
      runStartedAt: 0,
      lagMs: null,
      events: 0,
      eventsPerSecond: 0,
    });
    await conforming('GET', '/pipes/{id}/cdc-history', `/pipes/${id}/cdc-history`);
    await conforming('GET', '/pipes/{id}/cdc-history', '/pipes/unknown/cdc-history');
    await conforming('DELETE', '/pipes/{id}', `/pipes/${id}`);
    await conforming('DELETE', '/pipes/{id}', '/pipes/unknown');
    // The fixture's API has no sampler: a valid sample is a 501 here (test/api/sample-source.test.ts samples).
    const sample = { source: { uri: 'mongodb://127.0.0.1:1/' }, database: 'shop', collection: 'orders' };
    await conforming('POST', '/sources/sample', '/sources/sample', { body: sample });
    await conforming('POST', '/sources/sample', '/sources/sample', { body: { ...sample, sampleSize: 0 } });
    // Nor a pre-flight probe: a valid request is a 501 here (test/api/preflight.test.ts runs the checks).
    const checked = {
      source: { uri: 'mongodb://127.0.0.1:1/' },
      tableMappings: minimal.settings.tableMappings,
    };
    await conforming('POST', '/preflight', '/preflight', { body: checked });
    await conforming('POST', '/preflight', '/preflight', { body: { ...checked, tableMappings: [] } });
    expect([...exercised].sort()).toEqual(documentedOperations().sort());
  });

  it('documents the error body the server sends for an unexpected failure (500, details not returned)', async () => {
    const failing = await startApi();
    try {
      failing.store.listPipes = async () => {
        throw new Error('boom: mongodb://user:pw@host');
      };
      const answer = await call(failing.url, 'GET', '/pipes');
      expect(answer.status).toBe(500);
      const validate = validatorFor(
        responseSpec('/pipes', 'GET', 500)?.content['application/json'].schema.$ref,
      );
      expect(validate(answer.body)).toBe(true);
      expect(JSON.stringify(answer.body)).not.toContain('pw');
      expect(failing.errors).toHaveLength(1);
      expect(JSON.stringify(failing.errors)).not.toContain(':pw@');
    } finally {
      await failing.stop();
    }
  });
});
