import type { Document } from 'mongodb';
import { SourceFatalError } from '../../core/errors.js';
import { bracketOfType, type PartitionBounds } from '../../core/partition-plan.js';
import {
  afterIdFilter,
  afterInBracket,
  bsonTypeName,
  decodeCheckpoint,
  encodeCheckpoint,
  holdsUnsendable,
  LOST_DATE_TEXT,
  partitionFilter,
  throughIdFilter,
} from './id-values.js';

/**
 * The last `_id` a read may go to (an open-ended partition's largest, or a replayed batch's
 * end), with its checkpoint text when it is known exactly (read from its bytes, or given).
 */
export interface PartitionEnd {
  id: unknown;
  checkpoint?: string;
}

/** `_id` types whose `$gt` matches exactly the later `_id`s of the same type bracket. */
const PLAIN_BRACKET_TYPES = new Set(['objectId', 'string', 'int', 'long', 'double', 'decimal', 'date']);

/**
 * The filter of each reply. The first, and any after a reply came back empty, is the general
 * one: the partition's `_id`s after the last read, in every type bracket (what a resumed chunk
 * uses). Past a reply, the next asks only for the later `_id`s of the last one's bracket, in one
 * `_id` range an index answers directly; when that comes back empty, the general filter finds
 * the next bracket's first `_id`s, or nothing at the partition's end. Brackets sort whole in
 * `_id` order, so the replies read the same documents in the same order as the general filter.
 */
export class ReplyFilters {
  private inBracket = false;
  private ended = false;
  /** The last filter given asked for one bracket's rest only, not for all the partition left. */
  private askedOneBracket = false;
  private readonly lastCheckpoint: string | null;

  /** The last `_id` the filters may name (null: none, or one the driver cannot send back). */
  private readonly last: PartitionEnd | null;

  /**
   * `last`: the `_id` to read up to, inclusive (an open-ended partition's largest, or a replayed
   * batch's end), null for none.
   * `collection`: the namespace, for errors.
   */
  constructor(
    private readonly bounds: PartitionBounds,
    private after: string | null,
    last: PartitionEnd | null = null,
    private readonly collection = 'the collection',
  ) {
    this.lastCheckpoint = last === null ? null : (last.checkpoint ?? encodeCheckpoint(last.id));
    // An `_id` the driver cannot send as it was read (a date beyond ±8.64e15 ms goes out as
    // date 0, a DBPointer as a document; also inside a compound `_id`) would bound the read at
    // the wrong place and skip `_id`s silently: the filters go without that end, and the read
    // cuts its replies at that `_id` by its checkpoint (endToCut) and ends there.
    this.last = last !== null && !holdsUnsendable(last.id, true) ? last : null;
    // Resumed at the last `_id`: nothing is left (and no filter need name that `_id`).
    this.ended = after !== null && after === this.lastCheckpoint;
  }

  /** The next reply's filter, or null once the partition is read. */
  filter(): Document | null {
    if (this.ended) return null;
    const partition = partitionFilter(this.bounds);
    const through = this.last === null ? {} : throughIdFilter(this.last.id);
    if (this.after === null) {
      this.askedOneBracket = false;
      return allOf([partition, through]);
    }
    if (this.after.includes(LOST_DATE_TEXT)) throw this.unsendable(this.after);
    const id = decodeCheckpoint(this.after);
    if (holdsUnsendable(id)) throw this.unsendable(this.after);
    const range = this.inBracket ? this.bracketRange(id, partition) : null;
    if (range !== null) {
      // A bounded partition holds one bracket (its range matches no other): its in-bracket
      // range is all it has left.
      this.askedOneBracket = this.bounds.upper === null;
      return range;
    }
    this.askedOneBracket = false;
    return allOf([partition, afterIdFilter(id), through]);
  }

  /**
   * The checkpoint of the end the filters cannot name (an unsendable `_id`): each reply may hold
   * `_id`s after it, which the read cuts off itself. Null when the filters bound the read, or
   * there is no end.
   */
  get endToCut(): string | null {
    return this.last === null ? this.lastCheckpoint : null;
  }

  /** No filter can name the `_id`s after this one: the read cannot go on, and retrying does not help. */
  private unsendable(checkpoint: string): SourceFatalError {
    return new SourceFatalError(
      `cannot read ${this.collection} past _id ${checkpoint}: it is or holds a date beyond ±8.64e15 ms (about ` +
        'the years -271821 and 275760), which the MongoDB driver for Node.js cannot put in a query, ' +
        'so the _ids after it cannot be asked for; see docs/source.md, Known limits',
    );
  }

  /**
   * Records a reply: the checkpoint of its last document (null when it had none), and whether
   * the server said its filter matches nothing more (`exhausted`: a reply short of its limit with
   * the cursor closed; an empty reply is). Past an exhausted filter that asked for all the
   * partition left, the read has ended; past an exhausted bracket, the general filter looks for
   * the next one. Each saves the empty reply that would otherwise say so.
   */
  answered(lastCheckpoint: string | null, exhausted = lastCheckpoint === null): void {
    if (lastCheckpoint !== null) this.after = lastCheckpoint;
    if (exhausted || lastCheckpoint === null) {
      this.ended =
        !this.askedOneBracket || (lastCheckpoint !== null && lastCheckpoint === this.lastCheckpoint);
      this.inBracket = false;
      return;
    }
    this.inBracket = true;
    // The last `_id` read: nothing is left (saves the two empty replies that would say so).
    this.ended = lastCheckpoint === this.lastCheckpoint;
  }

  /** `_id`s after `id` in its own bracket within the partition, or null when no range says it. */
  private bracketRange(id: unknown, partition: Document): Document | null {
    if (!PLAIN_BRACKET_TYPES.has(bsonTypeName(id))) return null;
    const lower = afterInBracket(id);
    if (this.bounds.upper === null) return { _id: { ...lower, ...this.lastInBracketOf(id) } };
    // A bounded partition's filter is one `_id` range; past an `_id` in it, only its upper
    // bound is left (an `_id` of another bracket than the bound's finds nothing: general filter).
    if (this.bounds.lower === null) return null;
    return { _id: { ...lower, $lt: (partition._id as Document).$lt, ...this.lastInBracketOf(id) } };
  }

  /** `$lte` the last `_id` when it is in `id`'s bracket (a bracket below it ends before it). */
  private lastInBracketOf(id: unknown): Document {
    if (this.last === null) return {};
    const bracketOf = (value: unknown) => bracketOfType(bsonTypeName(value));
    return bracketOf(id) === bracketOf(this.last.id) ? { $lte: this.last.id } : {};
  }
}

/** The conjunction of filters, `{}` (everything) left out. */
function allOf(filters: Document[]): Document {
  const clauses = filters.filter((filter) => Object.keys(filter).length > 0);
  if (clauses.length <= 1) return clauses[0] ?? {};
  return { $and: clauses };
}
