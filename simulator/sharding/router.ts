/**
 * One mongos's router. The chunk table is the cluster's (a real cluster keeps it on the config
 * servers, every mongos caches it); the participants of open transactions are this mongos's
 * own, as on a real one: another mongos only learns a commit decision through the
 * `recoveryToken`.
 * `send` adds the transaction fields a mongos adds: `startTransaction` (and the transaction's
 * read concern) the first time a shard joins, `autocommit: false` and the `txnNumber` always.
 */
import { type Document, Long } from 'bson';
import type { CommandContext } from '../contract.js';
import { sessionKey } from '../storage/transactions.js';
import { ShardKeyRouting, type ShardKeySpec } from './shard-key.js';
import type { ShardLink } from './shard-link.js';
import { targetShards } from './targeting.js';

const NOT_PINNED = Symbol('not pinned');

/**
 * `{_id: v}` or `{_id: {$eq: v}}` with a plain value pins one document. A regex does not: it
 * matches strings, which live wherever their own value puts them.
 */
function pinnedId(filter: unknown): unknown {
  if (filter === null || typeof filter !== 'object' || !('_id' in filter)) return NOT_PINNED;
  const id = pinnedValue((filter as Document)._id);
  return id instanceof RegExp || (id as { _bsontype?: string } | null)?._bsontype === 'BSONRegExp'
    ? NOT_PINNED
    : id;
}

function pinnedValue(id: unknown): unknown {
  if (id === null || typeof id !== 'object' || Array.isArray(id)) return id;
  const keys = Object.keys(id);
  if (keys.length === 1 && keys[0] === '$eq') return (id as Document).$eq;
  if (keys.some((key) => key.startsWith('$'))) return NOT_PINNED;
  if ((id as { _bsontype?: string })._bsontype !== undefined) return id;
  return id;
}

interface RouterTransaction {
  txnNumber: Long;
  participants: Set<number>;
  readConcern: Document | undefined;
}

/** Session fields every command the mongos sends on behalf of a client command carries. */
const SESSION_FIELDS = ['lsid', 'txnNumber', 'autocommit'];

/** Fields of a client command a mongos does not pass on as they are. */
const CLIENT_ONLY = ['$db', '$clusterTime', '$readPreference', 'startTransaction', 'readConcern'];

export class Router {
  private readonly transactions = new Map<string, RouterTransaction>();

  constructor(
    readonly shards: readonly ShardLink[],
    private readonly defaultKey: ShardKeySpec,
    /** Namespace → chunks, shared by every mongos of the cluster. */
    private readonly routing: Map<string, ShardKeyRouting> = new Map(),
  ) {}

  /** A router for another mongos of the same cluster (same chunks, its own transactions). */
  sibling(): Router {
    return new Router(this.shards, this.defaultKey, this.routing);
  }

  /** The chunks of a namespace (created on first use with the cluster's default shard key). */
  routingOf(ns: string): ShardKeyRouting {
    let routing = this.routing.get(ns);
    if (!routing) {
      routing = new ShardKeyRouting(this.defaultKey, this.shards.length);
      this.routing.set(ns, routing);
    }
    return routing;
  }

  shardCollection(ns: string, key: ShardKeySpec): ShardKeyRouting {
    const routing = new ShardKeyRouting(key, this.shards.length);
    this.routing.set(ns, routing);
    return routing;
  }

  forgetNamespace(ns: string): void {
    this.routing.delete(ns);
  }

  /** The shards a read of `ns` with this filter goes to (targeting.ts). */
  targetShards(ns: string, filter: Document | undefined): number[] {
    const all = this.shards.map((shard) => shard.index);
    return targetShards(this.routingOf(ns), filter, all);
  }

  /** The shard owning `_id` when the filter pins it to one value, else undefined (all shards). */
  targetOf(ns: string, filter: unknown): number | undefined {
    const id = pinnedId(filter);
    return id === NOT_PINNED ? undefined : this.routingOf(ns).shardOf(id);
  }

  shard(index: number): ShardLink {
    const shard = this.shards[index];
    if (!shard) throw new RangeError(`No shard ${index}`);
    return shard;
  }

  /** Sends a command derived from `ctx` to one shard, with the session's transaction fields. */
  async send(index: number, ctx: CommandContext, body: Document): Promise<Document> {
    return this.shard(index).command(ctx.db, this.shardBody(index, ctx, body));
  }

  /** Like `send`, but returns an `{ok: 0}` reply instead of throwing it. */
  async sendRaw(index: number, ctx: CommandContext, body: Document): Promise<Document> {
    return this.shard(index).rawCommand(ctx.db, this.shardBody(index, ctx, body));
  }

  shardBody(index: number, ctx: CommandContext, body: Document): Document {
    const forwarded: Document = { ...body };
    for (const field of CLIENT_ONLY) delete forwarded[field];
    for (const field of SESSION_FIELDS) {
      if (forwarded[field] === undefined && ctx.body[field] !== undefined) forwarded[field] = ctx.body[field];
    }
    const session = ctx.session;
    if (!session?.inTransaction || session.txnNumber === undefined) {
      if (ctx.body.readConcern !== undefined) forwarded.readConcern = ctx.body.readConcern;
      return forwarded;
    }
    const transaction = this.transactionFor(ctx);
    if (!transaction.participants.has(index)) {
      transaction.participants.add(index);
      forwarded.startTransaction = true;
      if (transaction.readConcern) forwarded.readConcern = transaction.readConcern;
    }
    return forwarded;
  }

  /** The participants of the session's transaction (none when this router never saw it). */
  participants(ctx: CommandContext): number[] {
    const session = ctx.session;
    if (!session?.txnNumber) return [];
    const transaction = this.transactions.get(sessionKey(session.lsid));
    if (!transaction?.txnNumber.equals(session.txnNumber)) return [];
    return [...transaction.participants].sort((a, b) => a - b);
  }

  forgetSession(lsid: Document): void {
    this.transactions.delete(sessionKey(lsid));
  }

  private transactionFor(ctx: CommandContext): RouterTransaction {
    const session = ctx.session;
    const key = sessionKey(session?.lsid ?? {});
    const txnNumber = session?.txnNumber ?? Long.ZERO;
    const known = this.transactions.get(key);
    if (known?.txnNumber.equals(txnNumber)) return known;
    const started: RouterTransaction = {
      txnNumber,
      participants: new Set(),
      readConcern: ctx.body.readConcern as Document | undefined,
    };
    this.transactions.set(key, started);
    return started;
  }
}
