/**
 * `replSetGetStatus` and `replSetGetConfig` documents, shaped like a 7.0 member's.
 */
import { type Document, Long, ObjectId, Timestamp } from 'bson';
import { isUnreachable, STATE_CODES } from './config.js';
import type { LastWrite } from './hello-response.js';
import type { ReplicaSetTopology } from './topology.js';

const ZERO_OPTIME = { ts: new Timestamp({ t: 0, i: 0 }), t: Long.fromNumber(-1) };
const REPLICA_SET_ID = new ObjectId();

function stateStr(state: string): string {
  return state === 'DOWN' ? '(not reachable/healthy)' : state;
}

export function replSetStatus(topology: ReplicaSetTopology, lastWrite: LastWrite, self: string): Document {
  const now = Date.now();
  const { config } = topology;
  const voters = config.members.filter((member) => member.votes > 0);
  const majority = Math.floor(voters.length / 2) + 1;
  const writableVoters = voters.filter((member) => !member.arbiterOnly).length;
  const members = config.members.map((member) => {
    const state = topology.stateOf(member.host);
    const reachable = !isUnreachable(state);
    const hasData = reachable && !member.arbiterOnly;
    const opTime = hasData ? lastWrite.opTime : ZERO_OPTIME;
    const optimeDate = hasData ? lastWrite.wallTime : new Date(0);
    const isSelf = member.host === self;
    const election = state === 'PRIMARY' ? topology.election : undefined;
    return {
      _id: member._id,
      name: member.host,
      health: reachable ? 1 : 0,
      state: STATE_CODES[state],
      stateStr: stateStr(state),
      uptime: reachable ? Math.floor((now - topology.startedAt(member.host)) / 1000) : 0,
      optime: opTime,
      optimeDate,
      lastAppliedWallTime: optimeDate,
      lastDurableWallTime: optimeDate,
      syncSourceHost: '',
      syncSourceId: -1,
      infoMessage: '',
      ...(election ? { electionTime: election.time, electionDate: election.date } : {}),
      configVersion: config.version,
      configTerm: topology.term,
      ...(isSelf
        ? { self: true, lastHeartbeatMessage: '' }
        : { lastHeartbeat: new Date(now), lastHeartbeatRecv: new Date(now), pingMs: Long.ZERO }),
    };
  });
  return {
    set: config.setName,
    date: new Date(now),
    myState: STATE_CODES[topology.stateOf(self)],
    term: topology.termLong(),
    syncSourceHost: '',
    syncSourceId: -1,
    heartbeatIntervalMillis: Long.fromNumber(2000),
    majorityVoteCount: majority,
    writeMajorityCount: Math.min(majority, writableVoters),
    votingMembersCount: voters.length,
    writableVotingMembersCount: writableVoters,
    optimes: {
      lastCommittedOpTime: lastWrite.opTime,
      lastCommittedWallTime: lastWrite.wallTime,
      readConcernMajorityOpTime: lastWrite.opTime,
      appliedOpTime: lastWrite.opTime,
      durableOpTime: lastWrite.opTime,
      lastAppliedWallTime: lastWrite.wallTime,
      lastDurableWallTime: lastWrite.wallTime,
    },
    members,
  };
}

export function replSetConfigDocument(topology: ReplicaSetTopology): Document {
  const { config } = topology;
  return {
    _id: config.setName,
    version: config.version,
    term: topology.term,
    protocolVersion: Long.ONE,
    writeConcernMajorityJournalDefault: true,
    members: config.members.map((member) => ({
      _id: member._id,
      host: member.host,
      arbiterOnly: member.arbiterOnly,
      buildIndexes: true,
      hidden: member.hidden,
      priority: member.priority,
      tags: {},
      secondaryDelaySecs: Long.ZERO,
      votes: member.votes,
    })),
    settings: {
      chainingAllowed: true,
      heartbeatIntervalMillis: 2000,
      heartbeatTimeoutSecs: 10,
      electionTimeoutMillis: 10000,
      catchUpTimeoutMillis: -1,
      catchUpTakeoverDelayMillis: 30000,
      getLastErrorModes: {},
      getLastErrorDefaults: { w: 1, wtimeout: 0 },
      replicaSetId: REPLICA_SET_ID,
    },
  };
}
