/**
 * The mongos's half of a change stream pipeline. A real mongos sends its shards the
 * `$changeStream` stage without the `updateLookup` post-image and without the client's own
 * stages; after merging it looks each update's document up by `documentKey` on the shard that
 * owns it now, then runs the client's stages (mongodb/mongo
 * `src/mongo/db/pipeline/change_stream_helpers_legacy.cpp`: "If we're on the shards and
 * producing input to be merged, the lookup is done on the mongos";
 * `document_source_change_stream_add_post_image.cpp`, `lookupLatestPostImage`). So an update read
 * after its document migrated gets the document from its new shard, and one whose document was
 * deleted since gets `fullDocument: null`.
 */
import type { Document } from 'bson';
import { validateStageOptions } from '../changestreams/open.js';
import { compileUserPipeline, type EventTransform } from '../changestreams/user-pipeline.js';
import type { Router } from './router.js';

export interface MongosHalf {
  /** The pipeline each shard runs: the `$changeStream` stage alone. */
  shardPipeline: Document[];
  /** Whether the mongos looks up update post-images after the merge. */
  updateLookup: boolean;
  /** The client's stages after `$changeStream`, run on the mongos after the lookup. */
  transform: EventTransform;
}

/** Splits a `$changeStream` aggregate's pipeline between the shards and the mongos. */
export function splitChangeStreamPipeline(pipeline: Document[]): MongosHalf {
  const [first, ...rest] = pipeline;
  const stage = validateStageOptions((first as Document).$changeStream);
  const transform = compileUserPipeline(rest);
  const updateLookup = stage.fullDocument === 'updateLookup';
  const { fullDocument: _fullDocument, ...shardStage } = stage;
  const forShards = updateLookup ? shardStage : stage;
  return { shardPipeline: [{ $changeStream: forShards }], updateLookup, transform };
}

/**
 * The document as it is now, read from the shard that owns its key, with the read concern a
 * mongos gives the lookup (majority, after the event's cluster time); null when it is gone.
 */
export async function lookUpPostImage(router: Router, event: Document): Promise<Document | null> {
  const ns = event.ns as { db?: string; coll?: string } | undefined;
  const documentKey = event.documentKey as Document | undefined;
  if (!ns?.db || !ns.coll || !documentKey) return null;
  const owner = router.targetOf(`${ns.db}.${ns.coll}`, documentKey);
  const shards = owner === undefined ? router.shards.map((shard) => shard.index) : [owner];
  for (const shard of shards) {
    const reply = await router.shard(shard).command(ns.db, {
      find: ns.coll,
      filter: documentKey,
      limit: 1,
      singleBatch: true,
      readConcern: { level: 'majority', afterClusterTime: event.clusterTime },
    });
    const found = (reply.cursor as Document | undefined)?.firstBatch as Document[] | undefined;
    if (found?.[0]) return found[0];
  }
  return null;
}

/** The event with `fullDocument` placed where the server puts it: right after `wallTime`. */
export function withFullDocument(event: Document, fullDocument: Document | null): Document {
  const placed: Document = {};
  for (const [key, value] of Object.entries(event)) {
    if (key === 'fullDocument') continue;
    placed[key] = value;
    if (key === 'wallTime') placed.fullDocument = fullDocument;
  }
  if (!('fullDocument' in placed)) placed.fullDocument = fullDocument;
  return placed;
}
