import { readDestinationFacts } from '../adapters/clickhouse/preflight.js';
import { preflight } from '../adapters/mongodb/preflight.js';
import type { AllowedHosts } from '../core/hosts.js';
import type { PreflightProbe } from '../ports/preflight.js';
import {
  type ClickHouseCredentials,
  resolveDestination,
  resolveSourceUri,
  type SecretReader,
} from './secrets.js';

export interface PreflightProbeDefaults {
  /** Reads the secrets a request names (default: Secrets Manager through the cached reader). */
  secrets?: SecretReader;
  /** Hosts pipes may reach; a secret pointing elsewhere is refused as a pipe would be. */
  allowedHosts?: AllowedHosts;
  /** Used when a destination record names no URL (the embedded ClickHouse locally). */
  clickhouse?: ClickHouseCredentials;
  /** How long to look for a source server before the connection check fails (default 5 s). */
  serverSelectionTimeoutMs?: number;
}

/**
 * The pre-flight's reach (`POST /preflight`): secrets resolved and hosts checked as a pipe's own
 * connections are (secrets.ts), one client each side for one request, closed after it.
 */
export function preflightProbeWith(defaults: PreflightProbeDefaults = {}): PreflightProbe {
  return {
    source: async (source, namespaces) =>
      preflight(await resolveSourceUri(source, defaults), {
        namespaces,
        clientOptions: { serverSelectionTimeoutMS: defaults.serverSelectionTimeoutMs ?? 5_000 },
        // Through a mongos the shards' hosts are the cluster's to name: held to the same list.
        ...(defaults.allowedHosts ? { allowedHosts: defaults.allowedHosts.source } : {}),
      }),
    destination: async (destination, tables) => {
      const { database: _database, ...credentials } = await resolveDestination(destination, defaults);
      return readDestinationFacts(credentials, tables);
    },
  };
}
