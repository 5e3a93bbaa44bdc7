/**
 * The `hello`/`isMaster` reply of a MongoDB 7.0 replica-set member, as SDAM reads it.
 */
import type { Document, Long, Timestamp } from 'bson';
import { MAX_BSON_OBJECT_SIZE, MAX_MESSAGE_SIZE_BYTES } from '../wire/protocol.js';
import type { ReplicaSetTopology } from './topology.js';

export const MAX_WIRE_VERSION = 21;
export const LOGICAL_SESSION_TIMEOUT_MINUTES = 30;

/** The last applied write, as `lastWrite` and `replSetGetStatus` report it. */
export interface LastWrite {
  opTime: { ts: Timestamp; t: Long };
  wallTime: Date;
}

export interface HelloRequest {
  memberName: string;
  connectionId: number;
  /** `isMaster`/`ismaster` answers `ismaster` instead of `isWritablePrimary`. */
  legacy: boolean;
  helloOk: boolean;
}

const DATA_STATES = new Set(['PRIMARY', 'SECONDARY']);

export function helloResponse(
  topology: ReplicaSetTopology,
  lastWrite: LastWrite,
  request: HelloRequest,
): Document {
  const { config } = topology;
  const state = topology.stateOf(request.memberName);
  const self = config.members.find((member) => member.host === request.memberName);
  const isPrimary = state === 'PRIMARY';
  const visible = config.members.filter(
    (member) => !member.hidden && topology.stateOf(member.host) !== 'REMOVED',
  );
  const hosts = visible.filter((member) => !member.arbiterOnly && member.priority > 0).map((m) => m.host);
  const passives = visible
    .filter((member) => !member.arbiterOnly && member.priority === 0)
    .map((m) => m.host);
  const arbiters = visible.filter((member) => member.arbiterOnly).map((m) => m.host);
  const primary = topology.primary;
  if (state === 'STARTUP') {
    // A member still loading its config does not know its set yet (drivers see an RSGhost).
    return {
      topologyVersion: topology.topologyVersion(request.memberName),
      [request.legacy ? 'ismaster' : 'isWritablePrimary']: false,
      secondary: false,
      info: 'Does not have a valid replica set config',
      isreplicaset: true,
      ...commonFields(request),
    };
  }
  const reply: Document = {
    topologyVersion: topology.topologyVersion(request.memberName),
    hosts,
    ...(passives.length > 0 ? { passives } : {}),
    ...(arbiters.length > 0 ? { arbiters } : {}),
    setName: config.setName,
    setVersion: config.version,
    [request.legacy ? 'ismaster' : 'isWritablePrimary']: isPrimary,
    secondary: state === 'SECONDARY',
    ...(primary && DATA_STATES.has(state) ? { primary } : {}),
    ...(self?.arbiterOnly ? { arbiterOnly: true } : {}),
    ...(self?.hidden ? { hidden: true } : {}),
    ...(self && self.priority === 0 && !self.arbiterOnly ? { passive: true } : {}),
    me: request.memberName,
    ...(isPrimary ? { electionId: topology.electionId } : {}),
    ...(self && !self.arbiterOnly
      ? {
          lastWrite: {
            opTime: lastWrite.opTime,
            lastWriteDate: lastWrite.wallTime,
            majorityOpTime: lastWrite.opTime,
            majorityWriteDate: lastWrite.wallTime,
          },
        }
      : {}),
    ...commonFields(request),
  };
  return reply;
}

function commonFields(request: HelloRequest): Document {
  return {
    maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
    maxMessageSizeBytes: MAX_MESSAGE_SIZE_BYTES,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: LOGICAL_SESSION_TIMEOUT_MINUTES,
    connectionId: request.connectionId,
    minWireVersion: 0,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
    ...(request.helloOk ? { helloOk: true } : {}),
  };
}
