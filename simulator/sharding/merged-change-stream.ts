/**
 * A mongos change stream: one stream per shard, opened with `needsMerge: true`, merged in
 * resume-token (cluster time) order. As in the server's AsyncResultsMerger, an event is
 * returned only when every other shard has been heard from past it (its next buffered event,
 * or its postBatchResumeToken, sorts after it); an idle shard moves its token forward only
 * through its periodic no-op writes. The batch's postBatchResumeToken is the last event
 * returned, or, with nothing buffered, the smallest token the shards have promised. Tokens are
 * the shards' own: they encode cluster time, collection uuid (one per sharded collection) and
 * document key, so any mongos resumes from them on every shard. The shards run the `$changeStream`
 * stage alone; the mongos looks up `updateLookup` post-images and runs the client's stages after
 * the merge (post-image-lookup.ts).
 */
import type { Document, Long } from 'bson';
import { compareTokens } from '../changestreams/resume-token.js';
import { type CommandContext, CommandError, type CursorBatch, type ServerCursor } from '../contract.js';
import {
  lookUpPostImage,
  type MongosHalf,
  splitChangeStreamPipeline,
  withFullDocument,
} from './post-image-lookup.js';
import type { Router } from './router.js';
import { replyError, type ShardLink } from './shard-link.js';

type Token = { _data: string };

interface ShardStream {
  shard: ShardLink;
  id: Long;
  collection: string;
  buffer: Document[];
  token: Token;
  done: boolean;
}

const DEFAULT_BATCH_SIZE = 101;
const WAIT_SLICE_MS = 250;

function isZero(id: unknown): boolean {
  return id === undefined || id === null || String(id) === '0';
}

export class MergedChangeStreamCursor implements ServerCursor {
  private token: Token;
  private invalidated = false;
  private closed = false;

  constructor(
    readonly id: Long,
    readonly ns: string,
    private readonly db: string,
    private readonly streams: ShardStream[],
    private readonly router: Router,
    private readonly mongosHalf: MongosHalf,
    readonly lsid?: Document,
  ) {
    this.token = minimum(streams.map((stream) => stream.token));
  }

  async nextBatch(batchSize: number | undefined, maxAwaitTimeMS: number | undefined): Promise<CursorBatch> {
    const limit = batchSize === undefined || batchSize < 0 ? DEFAULT_BATCH_SIZE : batchSize;
    const documents: Document[] = [];
    if (limit === 0 || this.closed) return this.batch(documents);
    const deadline = Date.now() + Math.max(0, maxAwaitTimeMS ?? 0);
    for (;;) {
      await this.refresh();
      await this.emit(documents, limit);
      if (documents.length > 0 || this.invalidated) return this.batch(documents);
      const remaining = deadline - Date.now();
      if (remaining <= 0) return this.batch(documents);
      await Promise.race(
        this.streams.map((stream) =>
          stream.shard.deployment.oplog.waitForAppend(Math.min(remaining, WAIT_SLICE_MS)),
        ),
      );
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const stream of this.streams) {
      if (stream.done) continue;
      stream.done = true;
      void stream.shard
        .rawCommand(this.db, { killCursors: stream.collection, cursors: [stream.id] }, true)
        .catch(() => {});
    }
  }

  /** Asks every shard whose buffer is empty for its next events and its newest token. */
  private async refresh(): Promise<void> {
    await Promise.all(
      this.streams
        .filter((stream) => stream.buffer.length === 0 && !stream.done)
        .map(async (stream) => {
          const body = { getMore: stream.id, collection: stream.collection, maxTimeMS: 0 };
          const reply = await stream.shard.rawCommand(this.db, body, true);
          if (reply.ok !== 1) throw replyError(reply);
          const cursor = reply.cursor as Document;
          stream.buffer.push(...((cursor.nextBatch as Document[]) ?? []));
          if (cursor.postBatchResumeToken) stream.token = cursor.postBatchResumeToken as Token;
          if (isZero(cursor.id)) stream.done = true;
        }),
    );
  }

  /**
   * Returns merged events in order, each completed by the mongos's half of the pipeline; an event
   * the client's stages filter out still moves the token past it.
   */
  private async emit(documents: Document[], limit: number): Promise<void> {
    while (documents.length < limit && !this.invalidated) {
      const next = this.nextReady();
      if (!next) return;
      const event = next.buffer.shift() as Document;
      this.token = event._id as Token;
      const completed = this.mongosHalf.transform(await this.withPostImage(event));
      if (completed) documents.push(completed);
      if (event.operationType === 'invalidate') {
        this.invalidated = true;
        this.close();
      }
    }
  }

  private async withPostImage(event: Document): Promise<Document> {
    if (!this.mongosHalf.updateLookup || event.operationType !== 'update') return event;
    return withFullDocument(event, await lookUpPostImage(this.router, event));
  }

  /** The shard holding the earliest buffered event, if no other shard may still precede it. */
  private nextReady(): ShardStream | undefined {
    let head: ShardStream | undefined;
    for (const stream of this.streams) {
      const first = stream.buffer[0];
      if (first && (!head || compareTokens(first._id as Token, head.buffer[0]?._id as Token) < 0))
        head = stream;
    }
    if (!head) return undefined;
    const headToken = head.buffer[0]?._id as Token;
    for (const stream of this.streams) {
      if (stream.buffer.length === 0 && !stream.done && compareTokens(stream.token, headToken) < 0)
        return undefined;
    }
    return head;
  }

  private batch(documents: Document[]): CursorBatch {
    const idle = this.streams.every((stream) => stream.buffer.length === 0);
    if (idle && !this.invalidated) {
      const promised = minimum(this.streams.filter((stream) => !stream.done).map((stream) => stream.token));
      if (compareTokens(promised, this.token) > 0) this.token = promised;
    }
    return { documents, exhausted: this.invalidated, postBatchResumeToken: this.token };
  }
}

function minimum(tokens: Token[]): Token {
  return tokens.reduce((low, token) => (compareTokens(token, low) < 0 ? token : low));
}

/** Opens the shards' streams and registers the merging cursor with the mongos. */
export async function openMergedChangeStream(
  router: Router,
  ctx: CommandContext,
  register: (make: (id: Long) => ServerCursor) => ServerCursor,
): Promise<ServerCursor> {
  const mongosHalf = splitChangeStreamPipeline(ctx.body.pipeline as Document[]);
  const body = {
    ...ctx.body,
    pipeline: mongosHalf.shardPipeline,
    cursor: { batchSize: 0 },
    needsMerge: true,
    fromMongos: true,
  };
  const streams: ShardStream[] = [];
  for (const shard of router.shards) {
    const reply = await router.send(shard.index, ctx, body);
    const cursor = reply.cursor as Document;
    const ns = String(cursor.ns);
    streams.push({
      shard,
      id: cursor.id as Long,
      collection: ns.slice(ctx.db.length + 1),
      buffer: [...((cursor.firstBatch as Document[]) ?? [])],
      token: cursor.postBatchResumeToken as Token,
      done: isZero(cursor.id),
    });
  }
  if (streams.length === 0) throw new CommandError(70, 'ShardNotFound', 'The cluster has no shards');
  const ns = String(((await Promise.resolve(streams[0])) as ShardStream).collection);
  return register(
    (id) =>
      new MergedChangeStreamCursor(
        id,
        `${ctx.db}.${ns}`,
        ctx.db,
        streams,
        router,
        mongosHalf,
        ctx.session?.lsid,
      ),
  );
}
