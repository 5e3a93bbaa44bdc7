import { SourceFatalError } from '../core/errors.js';
import { describeShard, shardsTroubles } from '../core/shard-members.js';
import { type ShardOplogWindow, shortestShard, unknownShards } from '../core/shard-oplog.js';
import { StandaloneSourceError } from '../core/source-errors.js';
import { namespaceKey } from '../core/table-key.js';
import type { ChangeStreamSwitch, DocumentDbFact, SourceFacts } from '../ports/preflight.js';
import { type PreflightCheck, passed } from './preflight-check.js';

/**
 * The source checks of the pre-flight, judged from what the probe read: `POST /preflight`
 * reports them, the create machine's Provision step refuses a source any of them fails.
 */

/** Member states a replica set runs normally with. */
const SERVING_STATES = new Set(['PRIMARY', 'SECONDARY', 'ARBITER']);

/** Below this the oplog window is worth a look: a pipe stopped for longer must resync. */
const SHORT_OPLOG_SECONDS = 3600;

/** A window as a person reads it: seconds, minutes or hours. */
function duration(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function sourceChecks(facts: SourceFacts): PreflightCheck[] {
  const standalone = facts.topology.kind === 'standalone';
  return [
    topologyCheck(facts),
    standalone
      ? consequence('source.members', 'a standalone server has no replica-set members')
      : memberStatesCheck(facts),
    standalone ? consequence('source.oplog', 'a standalone server keeps no oplog') : historyCheck(facts),
    privilegesCheck(facts),
    facts.documentDb ? documentDbChangeStreamCheck(facts, facts.documentDb) : changeStreamCheck(facts),
    collectionsCheck(facts),
  ];
}

/** What follows from a standalone server: said once, fixed by what source.topology advises. */
const consequence = (id: string, message: string): PreflightCheck => ({
  id,
  status: 'warned',
  message,
  advice: 'see source.topology',
});

/** The hosts and version are in source.connection's message; this one says what the deployment is. */
function topologyCheck({ topology, host, serverVersion }: SourceFacts): PreflightCheck {
  if (topology.kind === 'standalone')
    return {
      id: 'source.topology',
      status: 'failed',
      message: `${host} is a standalone server (MongoDB ${serverVersion}): it has no oplog, so no change stream`,
      advice:
        'convert it to a (single-member) replica set: restart mongod with --replSet <name>, then run rs.initiate()',
    };
  const what =
    topology.kind === 'sharded'
      ? 'a sharded cluster (mongos)'
      : `replica set ${topology.setName}, primary ${topology.primary ?? 'none'}`;
  return passed('source.topology', what);
}

function memberStatesCheck(facts: SourceFacts): PreflightCheck {
  const { memberStates } = facts;
  if (facts.topology.kind === 'sharded') return shardsCheck(facts);
  if (!memberStates.available)
    return {
      id: 'source.members',
      status: 'warned',
      message: `member states unknown: ${memberStates.reason}`,
      advice: 'grant the pipe user clusterMonitor so the pipe status can show member states',
    };
  const listed = memberStates.members.map((member) => `${member.name} ${member.state}`).join(', ');
  const troubled = memberStates.members.filter((member) => !SERVING_STATES.has(member.state));
  const primary = memberStates.members.some((member) => member.state === 'PRIMARY');
  if (troubled.length === 0 && primary) return passed('source.members', listed);
  const rollback = troubled.some((member) => member.state === 'ROLLBACK');
  return {
    id: 'source.members',
    status: 'warned',
    message: `${primary ? '' : 'no primary; '}${listed}`,
    advice:
      (rollback
        ? 'a member in ROLLBACK is undoing writes the set never committed by majority: the pipe reads committed changes only, but '
        : '') +
      'look at the members not PRIMARY or SECONDARY (rs.status()) before starting a large snapshot; the pipe ' +
      'retries while the set has no primary',
  };
}

const SHARDS_ADVICE =
  'grant the pipe user clusterMonitor (listShards, connPoolStats) so the shards and their members can be shown; ' +
  "or look at each shard's members on the shard itself (rs.status())";

/**
 * Through a mongos: each shard's members as the mongos sees them (connPoolStats), the shards
 * named by listShards; a shard without a primary or a member the mongos cannot use is a warning.
 */
function shardsCheck(facts: SourceFacts): PreflightCheck {
  const { memberStates, shards } = facts;
  const listed = memberStates.available
    ? `shards ${memberStates.members.map((shard) => shard.name).join(', ')}`
    : '';
  if (!shards?.available) {
    const reason = shards ? shards.reason : memberStates.available ? 'not read' : memberStates.reason;
    const message = `${listed ? `${listed}; ` : ''}members of the shards unknown: ${reason}`;
    return { id: 'source.members', status: 'warned', message, advice: SHARDS_ADVICE };
  }
  const described = shards.shards.map(describeShard).join('; ');
  const troubles = shardsTroubles(shards.shards);
  if (troubles.length === 0 && shards.note === null) return passed('source.members', described);
  return {
    id: 'source.members',
    status: 'warned',
    message: [...troubles, described, ...(shards.note ? [shards.note] : [])].join('; '),
    advice:
      troubles.length > 0
        ? 'look at those members on their shard (rs.status() there) before starting a large snapshot: a shard ' +
          'without a primary holds the change stream back, and reads of its documents wait until it elects one'
        : SHARDS_ADVICE,
  };
}

function historyCheck(facts: SourceFacts): PreflightCheck {
  if (facts.documentDb) return documentDbRetentionCheck();
  return facts.topology.kind === 'sharded' ? shardedOplogCheck(facts) : oplogWindowCheck(facts);
}

const MONGOS_OPLOG =
  "a mongos has no oplog: the pipe's change stream reads every shard's, so its window is the shortest shard's";

const SHORT_WINDOW_ADVICE =
  'a pipe paused or failing for longer than the window must resync: size the oplog ' +
  '(replSetResizeOplog, or oplogMinRetentionHours) for the longest stop you expect';

/** `shard0 covers 2.0 h` or `shard1 unknown: <reason>` */
function shardWindowLine({ shard, window }: ShardOplogWindow): string {
  return window.available
    ? `${shard} covers ${duration(window.seconds)}`
    : `${shard} unknown: ${window.reason}`;
}

/**
 * A mongos has no oplog: each shard's window is read on the shard (shardOplogWindows), and the
 * pipe's is the shortest. A shard whose window could not be read leaves it unknown: a warning
 * naming the shard and why, never a failure.
 */
function shardedOplogCheck({ shardOplogWindows: shards = [], oplogWindow }: SourceFacts): PreflightCheck {
  const shortest = shortestShard(shards);
  const each = shards.map(shardWindowLine).join('; ');
  if (shortest && unknownShards(shards).length === 0) {
    const { seconds, firstAt, lastAt } = shortest.window;
    const message =
      `the pipe's window is the shortest shard's: ${shortest.shard}'s oplog covers ${duration(seconds)} ` +
      `(${firstAt} to ${lastAt}); ${each}`;
    if (seconds >= SHORT_OPLOG_SECONDS) return passed('source.oplog', message);
    return {
      id: 'source.oplog',
      status: 'warned',
      message,
      advice: `${SHORT_WINDOW_ADVICE}, on every shard`,
    };
  }
  const atMost = shortest
    ? `; it is at most ${duration(shortest.window.seconds)} (${shortest.shard}, the shortest read)`
    : '';
  const known = shards.length > 0 ? each : oplogWindow.available ? '' : oplogWindow.reason;
  return {
    id: 'source.oplog',
    status: 'warned',
    message: `${MONGOS_OPLOG}${atMost}${known ? `; ${known}` : ''}`,
    advice:
      "to have the pre-flight read each shard's window, the shards' hosts (listShards) must be reachable from the " +
      "pipe and the pipe's user must exist on each shard with read on local; else check each shard's window on " +
      "the shard (rs.printReplicationInfo()). Size every shard's oplog for the longest stop you expect: a pipe " +
      'paused or failing for longer than the shortest must resync',
  };
}

function oplogWindowCheck({ oplogWindow }: SourceFacts): PreflightCheck {
  if (!oplogWindow.available)
    return {
      id: 'source.oplog',
      status: 'warned',
      message: `oplog window unknown: ${oplogWindow.reason}`,
      advice:
        'grant find on local.oplog.rs so the window can be watched; a pipe stopped longer than it must resync',
    };
  const message = `the oplog covers ${duration(oplogWindow.seconds)} (${oplogWindow.firstAt} to ${oplogWindow.lastAt})`;
  if (oplogWindow.seconds >= SHORT_OPLOG_SECONDS) return passed('source.oplog', message);
  return { id: 'source.oplog', status: 'warned', message, advice: SHORT_WINDOW_ADVICE };
}

function privilegesCheck({ privileges }: SourceFacts): PreflightCheck {
  if (!privileges.checked)
    return privileges.reason.startsWith('the connection is not authenticated')
      ? passed('source.privileges', privileges.reason)
      : {
          id: 'source.privileges',
          status: 'warned',
          message: `privileges not checked: ${privileges.reason}`,
          advice: 'make sure the user has read on the mapped databases and on local (docs/source.md)',
        };
  if (privileges.missing.length === 0)
    return passed('source.privileges', 'the user has every privilege the pipe needs');
  return {
    id: 'source.privileges',
    status: 'failed',
    message: `missing privileges: ${privileges.missing.join('; ')}`,
    advice:
      'grant the user read on the mapped databases and on local, or a role with these actions (docs/source.md)',
  };
}

function changeStreamCheck({ changeStream, topology }: SourceFacts): PreflightCheck {
  if (changeStream.opened)
    return passed('source.changeStream', `a change stream opens on ${changeStream.scope}`);
  return {
    id: 'source.changeStream',
    status: 'failed',
    message: `no change stream on ${changeStream.scope}: ${changeStream.reason}`,
    advice:
      topology.kind === 'standalone'
        ? 'change streams need a replica set: convert the server (see source.topology)'
        : 'grant changeStream and find at that scope, and check the server allows majority reads',
  };
}

/** DocumentDB's default `change_stream_log_retention_duration`: 3 hours. */
const DOCUMENTDB_RETENTION =
  'Amazon DocumentDB keeps change stream events for the cluster parameter change_stream_log_retention_duration ' +
  '(10800 s, 3 h, unless raised; at most 604800 s, 7 days)';

/** DocumentDB has no oplog to read: its history is the change stream retention, a cluster parameter. */
function documentDbRetentionCheck(): PreflightCheck {
  return {
    id: 'source.oplog',
    status: 'warned',
    message: `${DOCUMENTDB_RETENTION}; it cannot be read over the MongoDB protocol`,
    advice:
      'raise change_stream_log_retention_duration in the cluster parameter group to the longest stop you ' +
      'expect: a pipe paused or failing for longer must resync',
  };
}

/**
 * The switch the pipe's one change stream needs: its database when every mapping is in one
 * (watched as a database), else the cluster (database ''). A switch on each collection is not
 * enough: DocumentDB opens a database's stream only when the database itself is switched on.
 */
function neededSwitch(collections: SourceFacts['collections']): ChangeStreamSwitch {
  const databases = [...new Set(collections.map((collection) => collection.db))];
  return { database: databases.length === 1 ? (databases[0] as string) : '', collection: '' };
}

function covers(entry: ChangeStreamSwitch, target: ChangeStreamSwitch): boolean {
  if (entry.database === '') return true;
  if (entry.database !== target.database) return false;
  return entry.collection === '' || entry.collection === target.collection;
}

const enableCommand = ({ database, collection }: ChangeStreamSwitch) =>
  `db.adminCommand({modifyChangeStreams: 1, database: ${JSON.stringify(database)}, ` +
  `collection: ${JSON.stringify(collection)}, enable: true})`;

/** Every mapped collection must be covered, through the switch the pipe's stream needs. */
function documentDbChangeStreamCheck(facts: SourceFacts, documentDb: DocumentDbFact): PreflightCheck {
  const needed = neededSwitch(facts.collections);
  const where = needed.database === '' ? 'the cluster' : `database ${needed.database}`;
  const switches = documentDb.changeStreams;
  const enabled =
    switches === null ? facts.changeStream.opened : switches.some((entry) => covers(entry, needed));
  if (enabled && facts.changeStream.opened)
    return passed('source.changeStream', `change streams are enabled on ${where} (Amazon DocumentDB)`);
  if (enabled) return changeStreamCheck(facts);
  const lacking = facts.collections
    .filter(
      (collection) =>
        !switches?.some((entry) => covers(entry, { database: collection.db, collection: collection.coll })),
    )
    .map(namespaceKey);
  const which =
    lacking.length > 0
      ? `for ${lacking.join(', ')}`
      : `on ${where} (only on its collections one by one, and the pipe reads one change stream on ${where})`;
  return {
    id: 'source.changeStream',
    status: 'failed',
    message:
      `Amazon DocumentDB has change streams off ${which}: enable them with ${enableCommand(needed)}; ` +
      `${DOCUMENTDB_RETENTION}, so raise it in the cluster parameter group to the longest stop you expect`,
    advice:
      `run the command as a user allowed modifyChangeStreams (the cluster's admin user); the pipe reads one change ` +
      `stream on ${where}, so switching on single collections is not enough` +
      (switches === null ? ` ($listChangeStreams could not be read: ${documentDb.reason})` : ''),
  };
}

function collectionsCheck({ collections }: SourceFacts): PreflightCheck {
  const missing = collections.filter((collection) => !collection.exists).map(namespaceKey);
  if (missing.length === 0)
    return passed('source.collections', `found ${collections.map(namespaceKey).join(', ')}`);
  return {
    id: 'source.collections',
    status: 'failed',
    message: `${missing.map((name) => `collection ${name} does not exist`).join('; ')}`,
    advice:
      'check the sourceDatabaseName and sourceCollection of the mapping (names are case-sensitive), ' +
      'or create the collection first (an empty one is fine)',
  };
}

/**
 * The create machine's Provision step: a source any check fails is refused with a named error
 * (statemachines/ match on them): StandaloneSourceError for a standalone server, else
 * SourceFatalError listing what failed.
 */
export function refuseUnusableSource(facts: SourceFacts): void {
  if (facts.topology.kind === 'standalone') throw new StandaloneSourceError(facts.host);
  const failed = sourceChecks(facts).filter((check) => check.status === 'failed');
  if (failed.length > 0)
    throw new SourceFatalError(
      `source pre-flight failed: ${failed.map((check) => check.message).join('; ')}`,
    );
}
