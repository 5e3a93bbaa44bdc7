/**
 * Replica-set configuration as `replSetGetConfig` reports it, and the rules that derive from it
 * (who votes, who can be elected, which host list a member appears in).
 */
import type { MemberState } from '../contract.js';

export interface MemberConfig {
  _id: number;
  /** `127.0.0.1:port`. */
  host: string;
  priority: number;
  votes: number;
  arbiterOnly: boolean;
  hidden: boolean;
}

export interface ReplicaSetConfig {
  setName: string;
  version: number;
  members: MemberConfig[];
}

/** Options a caller may give per member; the rest defaults like `rs.initiate()` does. */
export interface MemberOptions {
  priority?: number;
  votes?: number;
  arbiterOnly?: boolean;
  hidden?: boolean;
}

export function buildConfig(
  setName: string,
  hosts: string[],
  options: MemberOptions[] = [],
): ReplicaSetConfig {
  if (!/^[A-Za-z0-9_-]+$/.test(setName)) throw new RangeError(`Invalid replica set name "${setName}"`);
  const members = hosts.map((host, index): MemberConfig => {
    const option = options[index] ?? {};
    const arbiterOnly = option.arbiterOnly ?? false;
    const hidden = option.hidden ?? false;
    const priority = arbiterOnly ? 0 : (option.priority ?? (hidden ? 0 : 1));
    const votes = option.votes ?? 1;
    if (priority < 0 || priority > 1000)
      throw new RangeError(`Member ${host}: priority must be in [0, 1000]`);
    if (votes !== 0 && votes !== 1) throw new RangeError(`Member ${host}: votes must be 0 or 1`);
    if (hidden && priority !== 0)
      throw new RangeError(`Member ${host}: a hidden member must have priority 0`);
    return { _id: index, host, priority, votes, arbiterOnly, hidden };
  });
  if (!members.some((member) => member.priority > 0)) {
    throw new RangeError('A replica set needs at least one electable member (priority > 0)');
  }
  const voters = members.filter((member) => member.votes > 0).length;
  if (voters === 0 || voters > 7)
    throw new RangeError(`A replica set needs 1 to 7 voting members, got ${voters}`);
  return { setName, version: 1, members };
}

/** States whose members still cast votes (seed 002: RECOVERING, ROLLBACK and STARTUP2 vote). */
const VOTING_STATES: ReadonlySet<MemberState> = new Set([
  'PRIMARY',
  'SECONDARY',
  'RECOVERING',
  'STARTUP2',
  'ARBITER',
  'ROLLBACK',
]);

export function canVote(member: MemberConfig, state: MemberState): boolean {
  return member.votes > 0 && VOTING_STATES.has(state);
}

/**
 * Whether the members that can vote right now hold a majority of the configured votes. REMOVED
 * members count as reconfigured out of the set.
 */
export function hasVotingMajority(config: ReplicaSetConfig, stateOf: (host: string) => MemberState): boolean {
  const members = config.members.filter((member) => stateOf(member.host) !== 'REMOVED');
  const totalVotes = members.reduce((sum, member) => sum + member.votes, 0);
  const votesUp = members
    .filter((member) => canVote(member, stateOf(member.host)))
    .reduce((sum, member) => sum + member.votes, 0);
  return votesUp >= Math.floor(totalVotes / 2) + 1;
}

/** States in which a member answers no client at all. */
export function isUnreachable(state: MemberState): boolean {
  return state === 'DOWN' || state === 'REMOVED' || state === 'UNKNOWN';
}

/** Numeric state codes of `replSetGetStatus`. */
export const STATE_CODES: Readonly<Record<MemberState, number>> = {
  STARTUP: 0,
  PRIMARY: 1,
  SECONDARY: 2,
  RECOVERING: 3,
  STARTUP2: 5,
  UNKNOWN: 6,
  ARBITER: 7,
  DOWN: 8,
  ROLLBACK: 9,
  REMOVED: 10,
};
