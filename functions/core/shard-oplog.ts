/**
 * The oplog window of a sharded cluster. A mongos keeps no oplog: its merged change stream reads
 * every shard's, so a stopped pipe can resume only while every shard still holds its resume
 * point. The pipe's window is therefore the shortest shard's, and unknown while any is unknown.
 */

/** The first and last entries of one oplog (`local.oplog.rs`), or why they could not be read. */
export type OplogWindow =
  | { available: true; firstAt: string; lastAt: string; seconds: number }
  | { available: false; reason: string };

export interface ShardOplogWindow {
  /** The shard's name (`listShards` `_id`). */
  shard: string;
  setName: string;
  window: OplogWindow;
}

type ReadWindow = ShardOplogWindow & { window: { available: true } };

const wasRead = (shard: ShardOplogWindow): shard is ReadWindow => shard.window.available;

/** The shard with the shortest window among those read; null when none was read. */
export function shortestShard(shards: readonly ShardOplogWindow[]): ReadWindow | null {
  let shortest: ReadWindow | null = null;
  for (const shard of shards.filter(wasRead))
    if (shortest === null || shard.window.seconds < shortest.window.seconds) shortest = shard;
  return shortest;
}

/** The shards whose window could not be read, each with its reason. */
export function unknownShards(shards: readonly ShardOplogWindow[]): { shard: string; reason: string }[] {
  return shards.flatMap((shard) =>
    shard.window.available ? [] : [{ shard: shard.shard, reason: shard.window.reason }],
  );
}

/**
 * The pipe's window through a mongos: the shortest shard's when every shard's was read; else
 * unknown, naming the shards that could not be read.
 */
export function pipeOplogWindow(shards: readonly ShardOplogWindow[]): OplogWindow {
  if (shards.length === 0) return { available: false, reason: 'no shards were listed' };
  const unknown = unknownShards(shards);
  if (unknown.length > 0)
    return {
      available: false,
      reason: unknown.map(({ shard, reason }) => `${shard}: ${reason}`).join('; '),
    };
  return shortestShard(shards)?.window ?? { available: false, reason: 'no shard window was read' };
}
