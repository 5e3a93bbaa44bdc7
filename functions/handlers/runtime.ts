import { MongoClient } from 'mongodb';
import { ClickHouseDestination } from '../adapters/clickhouse/destination.js';
import { MongoChangeSource } from '../adapters/mongodb/change-source.js';
import { preflight } from '../adapters/mongodb/preflight.js';
import { MongoSnapshotSource } from '../adapters/mongodb/snapshot-source.js';
import { MongoSourceMonitor, trackTopology } from '../adapters/mongodb/source-health.js';
import type { AllowedHosts } from '../core/hosts.js';
import type { PipeSettings } from '../core/settings.js';
import { refuseUnusableSource } from '../engines/preflight-source.js';
import type { CreateRules } from '../engines/register-pipe.js';
import type { Clock } from '../ports/clock.js';
import type { Destination } from '../ports/destination.js';
import type { CdcScheduler, CdcTrigger, LifecycleStarter } from '../ports/lifecycle.js';
import type { Log } from '../ports/log.js';
import type { CdcMetrics } from '../ports/metrics.js';
import type { PipeRecord, PipeStore } from '../ports/pipe-store.js';
import type { ChangeSource, SnapshotSource, SourceMonitor, SourceNamespace } from '../ports/source.js';
import { log } from './observability.js';
import {
  type ClickHouseCredentials,
  resolveDestination,
  resolveSourceUri,
  type SecretReader,
} from './secrets.js';

/**
 * Everything a Task handler needs, built once per Lambda container (or once per local runner).
 * Tests and the local runner build it with the stand-ins' endpoints; AWS builds it from env.
 */
export interface Runtime {
  store: PipeStore;
  scheduler: CdcScheduler;
  clock: Clock;
  /** Starts the resync machine after a history loss when the pipe opts in; absent = never. */
  starter?: LifecycleStarter;
  /** Starts a CDC run outside the schedule (hand-over, restart after a revoke); absent = the schedule only. */
  cdcTrigger?: CdcTrigger;
  /** Where CDC batches report themselves; absent = nowhere. */
  cdcMetrics?: CdcMetrics;
  /** What a create request may contain (the RegisterPipe Task); absent = the cloud's strictest rules. */
  createRules?: CreateRules;
  /** Opens the pipe's source and destination. Callers close what they open. */
  connect(pipe: PipeRecord, settings: PipeSettings): Promise<PipeConnections>;
}

export interface PipeConnections {
  snapshotSource: SnapshotSource;
  /** Null when the pipe maps no table (a change stream needs at least one collection). */
  changeSource: ChangeSource | null;
  destination: Destination;
  /** The source's topology and member states, for the pipe status. */
  monitor: SourceMonitor;
  /**
   * Checks the source for this pipe's collections (engines/preflight-source.ts); throws
   * StandaloneSourceError or SourceFatalError listing the failed checks.
   */
  checkSource(): Promise<void>;
  close(): Promise<void>;
}

export interface ConnectionDefaults {
  /** Used when the pipe record names no source URI or secret (the local demo). */
  mongoUri?: string;
  /** Used when the pipe record names no destination URL (the embedded ClickHouse locally). */
  clickhouse?: ClickHouseCredentials;
  secrets?: SecretReader;
  /** Hosts the pipes may reach (the deployment's allowlists); absent: any host (the local runtime). */
  allowedHosts?: AllowedHosts;
  /** Where the change source's lines go (default: the product's logger, functions/handlers/observability.ts). */
  log?: Log;
  /**
   * Keep clients open between calls (a Lambda container serves many invocations: reconnecting
   * to MongoDB over TLS on every chunk would cost more than the chunk). close() then keeps them.
   */
  reuseClients?: boolean;
}

export function namespacesOf(settings: PipeSettings): SourceNamespace[] {
  return settings.tableMappings.map((mapping) => ({
    db: mapping.sourceDatabaseName,
    coll: mapping.sourceCollection,
  }));
}

/** The real adapters: MongoDB driver and ClickHouse over HTTP, credentials resolved per pipe. */
export function connectWith(defaults: ConnectionDefaults): Runtime['connect'] {
  return async (pipe, settings) => {
    const uri = await resolveSourceUri(pipe.source, defaults);
    const credentials = await resolveDestination(pipe.destination, defaults);
    const reuse = defaults.reuseClients === true;
    const mongo = reuse ? cachedMongo(uri) : newMongoClient(uri);
    const destination = reuse ? cachedDestination(credentials) : ClickHouseDestination.connect(credentials);
    const namespaces = namespacesOf(settings);
    return {
      snapshotSource: new MongoSnapshotSource(mongo, { readPreference: settings.readPreference }),
      changeSource:
        namespaces.length === 0
          ? null
          : new MongoChangeSource(mongo, {
              namespaces,
              excludedOperationTypes: settings.excludedOperationTypes,
              log: defaults.log ?? log,
            }),
      destination,
      monitor: new MongoSourceMonitor(mongo),
      checkSource: async () =>
        refuseUnusableSource(
          await preflight(uri, {
            namespaces,
            client: mongo,
            ...(defaults.allowedHosts ? { allowedHosts: defaults.allowedHosts.source } : {}),
          }),
        ),
      close: async () => {
        if (!reuse) await Promise.allSettled([mongo.close(), destination.close()]);
      },
    };
  };
}

const mongoClients = new Map<string, MongoClient>();
const destinations = new Map<string, ClickHouseDestination>();

/** Tracked from the start, so the pipe status can show the driver's view of the members. */
function newMongoClient(uri: string): MongoClient {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  trackTopology(client);
  return client;
}

function cachedMongo(uri: string): MongoClient {
  let client = mongoClients.get(uri);
  if (!client) {
    client = newMongoClient(uri);
    mongoClients.set(uri, client);
  }
  return client;
}

function cachedDestination(credentials: ClickHouseCredentials): ClickHouseDestination {
  const key = JSON.stringify([credentials.url, credentials.username ?? '', credentials.password ?? '']);
  let destination = destinations.get(key);
  if (!destination) {
    destination = ClickHouseDestination.connect(credentials);
    destinations.set(key, destination);
  }
  return destination;
}
