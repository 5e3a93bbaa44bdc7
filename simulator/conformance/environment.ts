/** What one running test shares between its operations. */
import type { MongoClient } from 'mongodb';
import type { EntityContext } from './create-entities.js';
import type { EntityMap } from './entities.js';

export interface TestEnvironment {
  entities: EntityMap;
  /** The runner's own client for setup, fail point cleanup and outcome checks. */
  internalClient: MongoClient;
  entityContext: EntityContext;
  /** Names of fail points the test configured, to switch off afterwards. */
  failPoints: Set<string>;
  /** How long `waitForEvent`, `waitForThread` and `waitForPrimaryChange` wait by default. */
  waitTimeoutMs: number;
  /** Driver deviations the event matches tolerated; undefined in strict mode. */
  toleratedDeviations?: Set<string>;
}
