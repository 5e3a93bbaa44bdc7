/**
 * The source's health for the pipe status: member states from `replSetGetStatus`, or, when the
 * role may not run it (or it fails), the driver's own monitoring view (SDAM events). Through a
 * mongos, also each shard's members as the mongos sees them (`connPoolStats`, shard-members.ts).
 */
import type { Document, MongoClient, ServerDescription, TopologyDescription } from 'mongodb';
import type { SourceHealth, SourceMember, SourceMonitor } from '../../ports/source.js';
import { briefMessage } from './bounded.js';
import { readShardedCluster } from './shard-members.js';
import { memberStatesFrom } from './topology.js';

/** The newest topology description per client; a key present with `null` = subscribed, nothing seen yet. */
const latest = new WeakMap<MongoClient, TopologyDescription | null>();

/** Keeps the client's newest topology description (once per client; call before it connects). */
export function trackTopology(client: MongoClient): void {
  if (latest.has(client)) return;
  latest.set(client, null);
  client.on('topologyDescriptionChanged', (event) => latest.set(client, event.newDescription));
}

const NOT_AUTHORISED = 'not authorised to run replSetGetStatus (grant clusterMonitor to see member states)';
const MONGOS = 'the source is a sharded cluster (mongos): member states are per shard';

const DRIVER_STATES: Partial<Record<string, string>> = {
  RSPrimary: 'PRIMARY',
  RSSecondary: 'SECONDARY',
  RSArbiter: 'ARBITER',
  RSOther: 'OTHER',
  RSGhost: 'OTHER',
  Mongos: 'MONGOS',
};

export class MongoSourceMonitor implements SourceMonitor {
  private readonly now: () => number;

  constructor(
    private readonly client: MongoClient,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
    trackTopology(client); // idempotent; sees changes from now on if the client is already connected
  }

  async health(): Promise<SourceHealth> {
    const checkedAt = this.now();
    try {
      const status = await this.client
        .db('admin')
        .command({ replSetGetStatus: 1 }, { readPreference: 'primaryPreferred' });
      return statusReading(status, checkedAt);
    } catch (err) {
      try {
        const reading = driverReading(latest.get(this.client) ?? null, err, checkedAt);
        return reading.kind === 'sharded' ? await withShards(reading, this.client) : reading;
      } catch {
        return { ...empty(checkedAt), note: 'source health could not be read' };
      }
    }
  }
}

/** A mongos's reading with each shard's members as it sees them, or the reason they are unknown. */
export async function withShards(reading: SourceHealth, client: MongoClient): Promise<SourceHealth> {
  const { shards } = await readShardedCluster(client);
  if (!shards.available) return { ...reading, note: `${reading.note ?? MONGOS}; ${shards.reason}` };
  const note = `${MONGOS}, read through the mongos (connPoolStats)${shards.note ? `; ${shards.note}` : ''}`;
  return { ...reading, shards: shards.shards, note };
}

/** A reading from a `replSetGetStatus` reply. */
export function statusReading(status: Document, checkedAt: number): SourceHealth {
  const members: SourceMember[] = memberStatesFrom(status).map(({ name, state, health }) => ({
    name,
    state,
    health,
  }));
  const setName = typeof status.set === 'string' ? status.set : null;
  return {
    checkedAt,
    kind: setName ? 'replicaSet' : 'unknown',
    setName,
    primary: members.find((member) => member.state === 'PRIMARY')?.name ?? null,
    members,
    membersFrom: 'replSetGetStatus',
    note: null,
  };
}

/** A reading from the driver's view after `replSetGetStatus` failed with `failure`. */
export function driverReading(
  description: TopologyDescription | null,
  failure: unknown,
  checkedAt: number,
): SourceHealth {
  const servers = description ? [...description.servers.values()] : [];
  const mongos =
    isMongosRefusal(failure) ||
    description?.type === 'Sharded' ||
    servers.some((server) => server.type === 'Mongos');
  const reason = mongos ? MONGOS : failureNote(failure);
  if (!description) {
    return {
      ...empty(checkedAt),
      kind: mongos ? 'sharded' : 'unknown',
      note: `${reason}; the driver has reported no topology for this client yet`,
    };
  }
  const setName = description.setName ?? servers.find((server) => server.setName)?.setName ?? null;
  return {
    checkedAt,
    kind: mongos ? 'sharded' : setName ? 'replicaSet' : 'unknown',
    setName,
    primary: servers.find((server) => server.type === 'RSPrimary')?.address ?? null,
    members: servers
      .map((server) => ({ name: server.address, state: driverState(server), health: null }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    membersFrom: 'driver',
    note: reason,
  };
}

function driverState(server: ServerDescription): string {
  if (server.type === 'Unknown') return server.error ? 'DOWN' : 'UNKNOWN';
  return DRIVER_STATES[server.type] ?? 'OTHER';
}

/** mongos answers `{ok: 0, info: 'mongos', errmsg: 'replSetGetStatus is not supported through mongos'}`. */
function isMongosRefusal(failure: unknown): boolean {
  const error = failure as { info?: unknown; message?: unknown } | null;
  return error?.info === 'mongos' || /through mongos/i.test(String(error?.message ?? ''));
}

function failureNote(failure: unknown): string {
  if ((failure as { code?: unknown } | null)?.code === 13) return NOT_AUTHORISED;
  return `replSetGetStatus failed: ${briefMessage(failure)}`;
}

function empty(checkedAt: number): SourceHealth {
  return {
    checkedAt,
    kind: 'unknown',
    setName: null,
    primary: null,
    members: [],
    membersFrom: 'driver',
    note: null,
  };
}
