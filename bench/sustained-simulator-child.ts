/**
 * The simulator of the sustained-load section, in its own process: like simulator-child.ts, but
 * its oplog is capped at `BENCH_OPLOG_BYTES` (oldest entries out first, as a real capped oplog),
 * so that millions of inserts over half an hour do not keep every document alive in memory.
 */
import { startReplicaSet } from '../simulator/index.js';

const oplogMaxBytes = Number(process.env.BENCH_OPLOG_BYTES);
const rs = await startReplicaSet({
  members: 1,
  noopIntervalMs: 0,
  ...(Number.isInteger(oplogMaxBytes) && oplogMaxBytes > 0 ? { oplogMaxBytes } : {}),
});
process.send?.({ uri: rs.uri });
process.once('disconnect', () => {
  void rs.stop().finally(() => process.exit(0));
});
