import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESERIALIZE_OPTIONS } from '../../functions/adapters/mongodb/snapshot-source.js';
import { documentToJson } from '../../functions/core/bson-json.js';
import { canonicalJson } from '../support/compare.js';
import {
  cdcUntilCaughtUp,
  DATABASE,
  markReplicating,
  partsOf,
  setUpPipe,
  snapshotAll,
  startWorld,
  type World,
} from './harness.js';
import { DOCUMENTED_FRAGMENTS, jsonColumnView, LARGE_DOCUMENT_BYTES, typeCorpus } from './type-corpus.js';

describe('type corpus: every BSON type and edge case lands in doc as docs/table-schema.md says', () => {
  let world: World;

  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => {
    await world?.stop();
  });

  it('round-trips through snapshot and CDC into a String doc column, exactly as documentToJson writes it', async () => {
    const started = Date.now();
    const table = { db: 'types', coll: 'corpus', target: 'type_corpus' };
    const collection = world.mongo.db(table.db).collection(table.coll);
    const snapshotDocs = typeCorpus('snap-', { large: true });
    for (const document of snapshotDocs) await collection.insertOne(document as never);
    const pipe = await setUpPipe(world, [table], { useJsonNativeFormat: false });
    const parts = partsOf(world, pipe);
    const snapshot = await snapshotAll(pipe, parts);
    await markReplicating(world.store, pipe);

    const cdcDocs = typeCorpus('cdc-', { large: true });
    for (const document of cdcDocs) await collection.insertOne(document as never);
    await collection.updateOne({ _id: 'snap-int32' as never }, { $set: { updated: true } });
    const cdc = await cdcUntilCaughtUp(pipe, parts);

    const rows = await world.destination.readLiveRows({ database: DATABASE, table: table.target });
    const byId = new Map(rows.map((row) => [row._id, row.doc]));
    // One document per reply: two 15 MB documents in one find batch trip a simulator limit (see report).
    const mongoDocs = await collection.find({}, { ...DESERIALIZE_OPTIONS, batchSize: 1 }).toArray();
    expect(rows).toHaveLength(mongoDocs.length);
    for (const document of mongoDocs) {
      const id = String(document._id);
      expect(byId.get(id), id).toBe(documentToJson(document));
      const kind = id.replace(/^(snap|cdc)-/, '');
      for (const fragment of DOCUMENTED_FRAGMENTS[kind] ?? [])
        expect(byId.get(id), `${id} holds ${fragment}`).toContain(fragment);
    }
    expect(byId.get('snap-int32')).toContain('"updated":true');
    expect(byId.get('cdc-large-15mb')?.length).toBeGreaterThan(LARGE_DOCUMENT_BYTES);
    expect(byId.get('snap-nesting-100')?.match(/\{"d":/g)?.length).toBe(98);
    console.info(
      `[e2e type-corpus] documents=${mongoDocs.length} snapshotRows=${snapshot.rows} cdcEvents=${cdc.events} ` +
        `seconds=${((Date.now() - started) / 1000).toFixed(1)}`,
    );
  }, 180_000);

  it('round-trips through snapshot and CDC into a JSON doc column, as the JSON column notes describe', async () => {
    const table = { db: 'types', coll: 'json', target: 'type_json' };
    const collection = world.mongo.db(table.db).collection(table.coll);
    for (const document of typeCorpus('snap-', { large: true }))
      await collection.insertOne(document as never);
    const pipe = await setUpPipe(world, [table], { useJsonNativeFormat: true });
    const parts = partsOf(world, pipe);
    await snapshotAll(pipe, parts);
    await markReplicating(world.store, pipe);
    for (const document of typeCorpus('cdc-', { large: true })) await collection.insertOne(document as never);
    await cdcUntilCaughtUp(pipe, parts);

    const rows = await world.destination.readLiveRows({ database: DATABASE, table: table.target });
    const byId = new Map(rows.map((row) => [row._id, row.doc]));
    const mongoDocs = await collection.find({}, { ...DESERIALIZE_OPTIONS, batchSize: 1 }).toArray();
    expect([...byId.keys()].sort()).toEqual(mongoDocs.map((document) => String(document._id)).sort());
    for (const document of mongoDocs) {
      const id = String(document._id);
      const expected = JSON.stringify(jsonColumnView(documentToJson(document)));
      expect(canonicalJson(byId.get(id) ?? 'null'), id).toBe(canonicalJson(expected));
    }
    // Hand-written from docs/table-schema.md: exact Long, dotted and $ keys kept, nulls and MinKey dropped.
    expect(byId.get('cdc-long')).toContain('"v":9223372036854775807');
    expect(byId.get('snap-keys-dots-dollar')).toContain('"a.b":1');
    expect(byId.get('snap-keys-dots-dollar')).toContain('"$price":3');
    expect(byId.get('snap-bool-null')).not.toContain('"n"');
    expect(byId.get('snap-min-max-key')).toBe('{"_id":"snap-min-max-key"}');
    expect(byId.get('snap-large-15mb')?.length).toBeGreaterThan(LARGE_DOCUMENT_BYTES);
    expect(byId.get('cdc-large-15mb')?.length).toBeGreaterThan(LARGE_DOCUMENT_BYTES);
    expect(byId.get('snap-date-millis')).toContain('"v":"2025-08-19T20:32:11.705Z"');
    expect(byId.get('snap-date-far-future')).toContain('"v":"+010000-01-01T00:00:00Z"');
    // Date inference is off (docs/table-schema.md): no date may come back as a DateTime64.
    expect([...byId].filter(([, doc]) => / \d{2}:\d{2}:\d{2}\.\d{9}"/.test(doc)).map(([id]) => id)).toEqual(
      [],
    );
    console.info(`[e2e type-corpus json] documents=${mongoDocs.length}`);
  }, 180_000);
});
