/**
 * Snapshot reads through the simulator's mongos: a collection ranged-sharded on `_id`, planned
 * along its chunks (`shard-chunks`) and with today's range plan (the config database refused
 * once, so the source falls back), each partition read in turn through `MongoSnapshotSource`.
 * Reports wall time, the finds/getMores the shards received and the documents they sent back
 * to the mongos (a read sent to two shards gets up to a reply's worth from each). Only the source side: the
 * destination's work does not depend on the partitioning.
 *
 * Usage: `npx tsx bench/shard-chunks.ts [--docs 100000] [--chunks 10] [--target 10000] [--layout round-robin|runs]`
 */
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { MongoSnapshotSource } from '../functions/adapters/mongodb/snapshot-source.js';
import type { SourceNamespace } from '../functions/ports/source.js';
import { type ShardedClusterHandle, startShardedCluster } from '../simulator/index.js';

const { values } = parseArgs({
  options: {
    docs: { type: 'string', default: '100000' },
    chunks: { type: 'string', default: '10' },
    target: { type: 'string', default: '10000' },
    layout: { type: 'string', default: 'round-robin' },
  },
});
const DOCS = Number(values.docs);
const CHUNKS = Number(values.chunks);
const TARGET = Number(values.target);
const NAMESPACE: SourceNamespace = { db: 'bench', coll: 'ranged' };

/** Commands of these names the shards have received so far, summed over the shards. */
function shardCommands(cluster: ShardedClusterHandle): { find: number; getMore: number; documents: number } {
  let find = 0;
  let getMore = 0;
  let documents = 0;
  for (let index = 0; index < cluster.shards.length; index += 1) {
    const link = cluster.router.shard(index);
    find += link.commandsReceived.get('find') ?? 0;
    getMore += link.commandsReceived.get('getMore') ?? 0;
    documents += link.documentsReturned;
  }
  return { find, getMore, documents };
}

async function seed(cluster: ShardedClusterHandle, client: MongoClient): Promise<void> {
  const step = Math.floor(DOCS / CHUNKS);
  const splitPoints = Array.from({ length: CHUNKS - 1 }, (_, index) => (index + 1) * step);
  cluster.shardCollection('bench.ranged', { kind: 'ranged', splitPoints });
  // "runs": the first half of the chunks on shard 0, the rest on shard 1, as a balanced cluster often has them.
  if (values.layout === 'runs') {
    for (let index = 0; index < CHUNKS; index += 1)
      await cluster.moveChunk('bench.ranged', index, index < CHUNKS / 2 ? 0 : 1);
  }
  const collection = client.db(NAMESPACE.db).collection<{ _id: number }>(NAMESPACE.coll);
  for (let start = 0; start < DOCS; start += 10_000) {
    const documents = Array.from({ length: Math.min(10_000, DOCS - start) }, (_, offset) => ({
      _id: start + offset,
      name: `item ${start + offset}`,
      price: (start + offset) * 0.25,
      tags: ['a', 'b', 'c'],
    }));
    await collection.insertMany(documents);
  }
}

async function snapshot(cluster: ShardedClusterHandle, source: MongoSnapshotSource, label: string) {
  const before = shardCommands(cluster);
  const started = performance.now();
  const plan = await source.planPartitions(NAMESPACE, { targetRowsPerPartition: TARGET });
  const planned = performance.now();
  const planCommands = shardCommands(cluster);
  let documents = 0;
  for (const bounds of plan.partitions) {
    const batches = source.readPartition(NAMESPACE, {
      bounds,
      checkpoint: null,
      maxRows: 5_000,
      maxBytes: 16 << 20,
    });
    for await (const batch of batches) documents += batch.documents.length;
  }
  const done = performance.now();
  const after = shardCommands(cluster);
  console.info(
    `${label}: strategy=${plan.strategy} partitions=${plan.partitions.length} documents=${documents} ` +
      `plan=${(planned - started).toFixed(0)} ms read=${(done - planned).toFixed(0)} ms ` +
      `planFinds=${planCommands.find - before.find} readFinds=${after.find - planCommands.find} ` +
      `readGetMores=${after.getMore - planCommands.getMore} shardDocuments=${after.documents - planCommands.documents}` +
      `\n  reason: ${plan.reason}`,
  );
}

const cluster = await startShardedCluster({
  shards: 2,
  membersPerShard: 1,
  mongos: 1,
  noopIntervalMs: 1_000,
});
const client = new MongoClient(cluster.uri);
try {
  await client.connect();
  await seed(cluster, client);
  const source = new MongoSnapshotSource(client);
  for (let round = 1; round <= 2; round += 1) {
    await snapshot(cluster, source, `round ${round} chunks`);
    // The config database refused once: the source keeps today's range plan.
    await client.db('admin').command({
      configureFailPoint: 'failCommand',
      mode: { times: 1 },
      data: { failCommands: ['find'], errorCode: 13, namespace: 'config.collections' },
    });
    await snapshot(cluster, source, `round ${round} range `);
  }
} finally {
  await client.close();
  await cluster.stop();
}
