/**
 * Who wins an election: with a majority of voting members up, the highest-priority SECONDARY
 * that is not frozen (stepped down recently or `replSetFreeze`), lowest `_id` on ties.
 */
import type { MemberState } from '../contract.js';
import { hasVotingMajority, type ReplicaSetConfig } from './config.js';

export interface ElectionInput {
  config: ReplicaSetConfig;
  stateOf: (host: string) => MemberState;
  /** Epoch ms until which a member may not stand for election. */
  frozenUntil: (host: string) => number;
  now: number;
}

export type ElectionOutcome =
  | { kind: 'elected'; host: string }
  | { kind: 'no-majority' }
  | { kind: 'no-candidate'; retryAt?: number };

export function runElection(input: ElectionInput): ElectionOutcome {
  const { config, stateOf, frozenUntil, now } = input;
  if (!hasVotingMajority(config, stateOf)) return { kind: 'no-majority' };
  const standing = config.members.filter(
    (member) => !member.arbiterOnly && member.priority > 0 && stateOf(member.host) === 'SECONDARY',
  );
  const eligible = standing
    .filter((member) => frozenUntil(member.host) <= now)
    .sort((a, b) => b.priority - a.priority || a._id - b._id);
  const winner = eligible[0];
  if (winner) return { kind: 'elected', host: winner.host };
  const thaws = standing.map((member) => frozenUntil(member.host));
  return thaws.length > 0 ? { kind: 'no-candidate', retryAt: Math.min(...thaws) } : { kind: 'no-candidate' };
}

/** `electionId` of a primary: the real server's `OID::fromTerm`, 0x7fffffff then the term. */
export function electionIdHex(term: number): string {
  return `7fffffff${term.toString(16).padStart(16, '0')}`;
}
