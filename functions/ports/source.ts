/**
 * The MongoDB side of a pipe as the engines see it: a snapshot source (plan and read `_id`
 * ranges) and a change source (read change events in bounded batches). Adapters implement
 * these; the engines never touch the driver.
 */

import type { RawChange } from '../core/change-lines.js';
import type { PartitionBounds, PartitionPlan } from '../core/partition-plan.js';
import type { ShardMembers } from '../core/shard-members.js';

/** A position in the oplog, as the store keeps it: seconds since the epoch and the increment within that second. */
export interface ClusterTime {
  seconds: number;
  increment: number;
}

/** Where CDC starts when no token was ever committed: recorded before a snapshot reads anything. */
export interface StartPointInput {
  token: string | null;
  clusterTime: ClusterTime | null;
}

/** One mapped collection, as MongoDB names it. */
export interface SourceNamespace {
  db: string;
  coll: string;
}

export interface PlanOptions {
  targetRowsPerPartition: number;
  /** Size of the `$sample` of `_id`s taken when the `_id`s are strings (default 1000). */
  sampleSize?: number;
}

export interface SnapshotReadOptions {
  bounds: PartitionBounds;
  /** The serialized last `_id` already copied (exclusive); null to start at the lower bound. */
  checkpoint: string | null;
  maxRows: number;
  maxBytes: number;
  /** Cluster time the snapshot must not read before (start point): needed for secondary reads. */
  afterClusterTime?: ClusterTime | null;
  /**
   * The serialized `_id` to read up to, inclusive (a replayed batch's last): the read yields
   * nothing after it, and an open-ended partition is not bounded at its largest `_id` instead.
   * Absent or null: the partition's own end.
   */
  end?: string | null;
}

/**
 * A batch of documents in `_id` order, bounded by rows and bytes (BSON size as read). The
 * documents are raw BSON, as the server sent them: nothing is decoded but the last `_id`.
 */
export interface SnapshotBatch {
  /** Each document's BSON bytes (one whole document each, from its length prefix to its end). */
  documents: Uint8Array[];
  /** Sum of the BSON sizes of `documents`. */
  bytes: number;
  /** The serialized `_id` of the last document: the checkpoint to store once the batch is inserted. */
  checkpoint: string;
}

export interface SnapshotSource {
  /** Plans partitions of one collection from its `_id` distribution. */
  planPartitions(namespace: SourceNamespace, options: PlanOptions): Promise<PartitionPlan & PlanFacts>;
  /**
   * Streams one partition. Breaking out of the loop (or `return()` on its iterator) closes the
   * cursor; a batch is read when asked for, so a consumer may ask for the next one while it is
   * still writing the last.
   */
  readPartition(namespace: SourceNamespace, options: SnapshotReadOptions): AsyncIterable<SnapshotBatch>;
}

/** What the plan was based on: shown in pipe status (documents estimated per table). */
export interface PlanFacts {
  estimatedCount: number;
  /** `$type` names seen among the smallest, largest and sampled `_id`s, with counts. */
  idTypeCensus: Record<string, number>;
}

/** Where a change batch starts: the committed resume point first, then the recorded start point. */
export interface ChangeResumeRequest {
  /** The committed resume point (token and its cluster time), if any. */
  resumePoint: { token: string | null; clusterTime: ClusterTime | null } | null;
  /** The start point recorded before the snapshot, if any. */
  startPoint: StartPointInput | null;
}

/** Which step of the resume order of docs/source.md opened the stream. */
export type ResumeMethod =
  | 'resume-token'
  | 'resume-token-cluster-time'
  | 'resume-point-cluster-time'
  | 'start-point-token'
  | 'start-point-token-cluster-time'
  | 'start-point-cluster-time';

export interface ChangeBatchRequest extends ChangeResumeRequest {
  maxEvents: number;
  maxBytes: number;
  /** Longest time to wait for events once caught up (an idle batch returns after this). */
  maxWaitMs: number;
  /** Epoch milliseconds by which the batch must return, whatever it holds. */
  deadline: number;
  /**
   * True (the default): the batch ends as soon as it is caught up. False: it keeps reading until
   * the deadline or a bound (a continuous run's flush interval), however idle the stream is.
   */
  stopWhenCaughtUp?: boolean;
}

/**
 * Why a batch ended. Only `max-events`, `max-bytes` and `deadline` can end inside a transaction
 * (its events share a cluster time); `caught-up` and `table-stopped` end between two.
 */
export type ChangeBatchEnd = 'caught-up' | 'max-events' | 'max-bytes' | 'deadline' | 'table-stopped';

/**
 * A row event (insert / update / replace / delete) as the engines use it: the event's raw BSON with
 * where its parts are (the transcoder writes the row from the bytes), and its resume token.
 */
export interface SourceChangeEvent extends RawChange {
  /** The event's resume token, serialized. */
  token: string;
  ns: SourceNamespace;
}

export interface StoppedTable {
  namespace: SourceNamespace;
  operationType: string;
  /** Plain-English reason for the pipe status. */
  reason: string;
}

export interface ChangeBatch {
  /** Row events (insert/update/replace/delete) of the mapped collections, in stream order. */
  events: SourceChangeEvent[];
  /** Where the next batch resumes: the token after the last event, or the post-batch token when idle. */
  resumeToken: string;
  /** Cluster time of `resumeToken`: what to store beside it. */
  resumeClusterTime: ClusterTime;
  /** Cluster time of the last event of the batch, null when the batch is empty. */
  lastEventClusterTime: ClusterTime | null;
  /** Tables ended by drop / rename / dropDatabase / invalidate. The batch ends at the first one. */
  tablesStopped: StoppedTable[];
  resumedWith: ResumeMethod;
  /** Sum of the BSON sizes of the events read. */
  bytes: number;
  endedBy: ChangeBatchEnd;
}

export interface ChangeSource {
  /** The point CDC starts from, read now from the server (record it before a snapshot reads). */
  captureStartPoint(): Promise<StartPointInput>;
  readBatch(request: ChangeBatchRequest): Promise<ChangeBatch>;
}

/** One replica-set member as the pipe status shows it (seed 002's state names). */
export interface SourceMember {
  /** host:port as the replica set names it. */
  name: string;
  /**
   * PRIMARY, SECONDARY, RECOVERING, STARTUP, STARTUP2, ARBITER, DOWN, ROLLBACK, REMOVED, UNKNOWN;
   * from the driver's view also OTHER (a member it cannot tell apart) and MONGOS.
   */
  state: string;
  /** 1 up, 0 down, as replSetGetStatus reports it; null from the driver's view. */
  health: number | null;
}

/** The source's topology and member states at one moment, for the pipe status. */
export interface SourceHealth {
  /** Epoch milliseconds of the reading. */
  checkedAt: number;
  kind: 'replicaSet' | 'sharded' | 'unknown';
  setName: string | null;
  /** host:port of the primary, null when there is none (an election, or no majority). */
  primary: string | null;
  members: SourceMember[];
  /** `replSetGetStatus`: the server's own states; `driver`: the driver's monitoring view (the role may not run replSetGetStatus). */
  membersFrom: 'replSetGetStatus' | 'driver';
  /** Why the exact states are unknown (e.g. "not authorised to run replSetGetStatus (grant clusterMonitor to see member states)"); null when known. */
  note: string | null;
  /**
   * Through a mongos: each shard's members as the mongos sees them (`connPoolStats`; PRIMARY,
   * SECONDARY, ARBITER or NOT_OK). Absent on a replica set, and when they could not be read
   * (`note` says why).
   */
  shards?: ShardMembers[];
}

/** Reads the source's health without failing: a reading that cannot be made says why in `note`. */
export interface SourceMonitor {
  health(): Promise<SourceHealth>;
}
