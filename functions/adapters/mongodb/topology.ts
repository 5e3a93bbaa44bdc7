import type { Document } from 'mongodb';
import { StandaloneSourceError } from '../../core/source-errors.js';

/** What `hello` says about the deployment, for the pre-flight report and pipe status. */
export interface TopologySummary {
  kind: 'replicaSet' | 'sharded';
  setName: string | null;
  primary: string | null;
  me: string | null;
  hosts: string[];
  passives: string[];
  arbiters: string[];
  isWritablePrimary: boolean;
  secondary: boolean;
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/**
 * Classifies a `hello` reply. A mongos answers `msg: 'isdbgrid'`; a replica-set member names its
 * set; anything else is a standalone server, which has no oplog and is refused.
 */
export function classifyDeployment(hello: Document, host: string): TopologySummary {
  const common = {
    primary: stringOrNull(hello.primary),
    me: stringOrNull(hello.me),
    hosts: strings(hello.hosts),
    passives: strings(hello.passives),
    arbiters: strings(hello.arbiters),
    isWritablePrimary: hello.isWritablePrimary === true || hello.ismaster === true,
    secondary: hello.secondary === true,
  };
  if (hello.msg === 'isdbgrid') return { kind: 'sharded', setName: null, ...common };
  if (typeof hello.setName === 'string' && hello.setName.length > 0) {
    return { kind: 'replicaSet', setName: hello.setName, ...common };
  }
  throw new StandaloneSourceError(host);
}

/**
 * Amazon DocumentDB's endpoints (clusters `*.docdb.amazonaws.com`, elastic clusters
 * `*.docdb-elastic.amazonaws.com`), the names MongoDB's own tools recognise it by
 * (mongodb-js/devtools-shared, mongodb-build-info): its `hello` and `buildInfo` answer as a
 * MongoDB replica set of its API version and name no product.
 */
const DOCUMENTDB_HOST = /\.docdb(-elastic)?\.amazonaws\.com$/i;

/** Whether any host of a `host:port,host:port` list is an Amazon DocumentDB endpoint. */
export function isDocumentDbHost(hosts: string): boolean {
  return hosts
    .split(',')
    .map((host) => host.trim().replace(/:\d+$/, ''))
    .some((host) => DOCUMENTDB_HOST.test(host));
}

/** One member as `replSetGetStatus` reports it. */
export interface MemberStatus {
  name: string;
  state: string;
  health: number | null;
  optimeDate: string | null;
  self: boolean;
}

export type MemberStates =
  | { available: true; members: MemberStatus[] }
  | { available: false; reason: string };

const STATE_NAMES: Record<number, string> = {
  0: 'STARTUP',
  1: 'PRIMARY',
  2: 'SECONDARY',
  3: 'RECOVERING',
  5: 'STARTUP2',
  6: 'UNKNOWN',
  7: 'ARBITER',
  8: 'DOWN',
  9: 'ROLLBACK',
  10: 'REMOVED',
};

export function memberStatesFrom(status: Document): MemberStatus[] {
  const members = Array.isArray(status.members) ? (status.members as Document[]) : [];
  return members.map((member) => ({
    name: String(member.name),
    // The code first: a DOWN member's stateStr is "(not reachable/healthy)", not a state name.
    state:
      STATE_NAMES[Number(member.state)] ??
      (typeof member.stateStr === 'string' ? member.stateStr : `STATE_${String(member.state)}`),
    health: typeof member.health === 'number' ? member.health : null,
    optimeDate: member.optimeDate instanceof Date ? member.optimeDate.toISOString() : null,
    self: member.self === true,
  }));
}
