/**
 * The MongoDB simulator in its own process, as a real mongod would be: a one-member replica set
 * on 127.0.0.1 that sends its URI to the parent and stops when the parent disconnects (or dies).
 */
import { startReplicaSet } from '../simulator/index.js';

const rs = await startReplicaSet({ members: 1, noopIntervalMs: 0 });
process.send?.({ uri: rs.uri });
process.once('disconnect', () => {
  void rs.stop().finally(() => process.exit(0));
});
