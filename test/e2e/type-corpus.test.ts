import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESERIALIZE_OPTIONS } from '../../functions/adapters/mongodb/snapshot-source.js';
import { documentToJson } from '../../functions/core/bson-json.js';
import { cdcUntilCaughtUp, DATABASE, markReplicating, partsOf, setUpPipe, snapshotAll, startWorld, type World } from './harness.js';
import { DOCUMENTED_FRAGMENTS, LARGE_DOCUMENT_BYTES, typeCorpus } from './type-corpus.js';

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
    const mongoDocs = await collection.find({}, DESERIALIZE_OPTIONS).toArray();
    expect(rows).toHaveLength(mongoDocs.length);
    for (const document of mongoDocs) {
      const id = String(document._id);
      expect(byId.get(id), id).toBe(documentToJson(document));
      const kind = id.replace(/^(snap|cdc)-/, '');
      for (const fragment of DOCUMENTED_FRAGMENTS[kind] ?? []) expect(byId.get(id), `${id} holds ${fragment}`).toContain(fragment);
    }
    expect(byId.get('snap-int32')).toContain('"updated":true');
    expect(byId.get('cdc-large-15mb')?.length).toBeGreaterThan(LARGE_DOCUMENT_BYTES);
    expect(byId.get('snap-nesting-100')?.match(/\{"d":/g)?.length).toBe(98);
    console.info(
      `[e2e type-corpus] documents=${mongoDocs.length} snapshotRows=${snapshot.rows} cdcEvents=${cdc.events} ` +
        `seconds=${((Date.now() - started) / 1000).toFixed(1)}`,
    );
  }, 180_000);
});
