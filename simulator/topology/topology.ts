/**
 * Replica-set state shared by every member of the process: member states, term, primary,
 * elections, step-downs, freezes, and the `topologyVersion` that streaming `hello` waits on.
 */
import { Long, ObjectId, type Timestamp } from 'bson';
import { CommandError, type MemberState } from '../contract.js';
import { hasVotingMajority, isUnreachable, type ReplicaSetConfig } from './config.js';
import { electionIdHex, runElection } from './election.js';

export interface TopologyOptions {
  config: ReplicaSetConfig;
  /** Delay between losing a primary and the new one taking over. */
  electionDelayMs: number;
  /** Cluster time source, to stamp `electionTime`. */
  clusterTime: () => Timestamp;
  now?: () => number;
}

export interface TopologyChange {
  /** The primary before and after this change (undefined: none). */
  previousPrimary: string | undefined;
  primary: string | undefined;
}

export type TopologyListener = (change: TopologyChange) => void;

interface MemberRuntime {
  state: MemberState;
  processId: ObjectId;
  startedAt: number;
  frozenUntil: number;
}

interface ChangeWaiter {
  resolve: () => void;
  timer: NodeJS.Timeout;
}

export class ReplicaSetTopology {
  readonly config: ReplicaSetConfig;
  private readonly members = new Map<string, MemberRuntime>();
  private readonly listeners = new Set<TopologyListener>();
  private readonly waiters = new Set<ChangeWaiter>();
  private readonly now: () => number;
  private electionTimer: NodeJS.Timeout | undefined;
  private currentTerm = 0;
  private primaryHost: string | undefined;
  private changeCounter = 0;
  private lastElection: { time: Timestamp; date: Date } | undefined;
  private closed = false;

  constructor(private readonly options: TopologyOptions) {
    this.config = options.config;
    this.now = options.now ?? Date.now;
    for (const member of this.config.members) {
      this.members.set(member.host, {
        state: member.arbiterOnly ? 'ARBITER' : 'SECONDARY',
        processId: new ObjectId(),
        startedAt: this.now(),
        frozenUntil: 0,
      });
    }
  }

  get term(): number {
    return this.currentTerm;
  }

  get primary(): string | undefined {
    return this.primaryHost;
  }

  get electionId(): ObjectId {
    return new ObjectId(electionIdHex(this.currentTerm));
  }

  get election(): { time: Timestamp; date: Date } | undefined {
    return this.lastElection;
  }

  termLong(): Long {
    return Long.fromNumber(this.currentTerm);
  }

  hosts(): string[] {
    return this.config.members.map((member) => member.host);
  }

  stateOf(host: string): MemberState {
    return this.runtime(host).state;
  }

  startedAt(host: string): number {
    return this.runtime(host).startedAt;
  }

  topologyVersion(host: string): { processId: ObjectId; counter: Long } {
    return { processId: this.runtime(host).processId, counter: Long.fromNumber(this.changeCounter) };
  }

  onChange(listener: TopologyListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves on the next topology change or after `timeoutMs`, whichever comes first. */
  waitForChange(sinceCounter: number, timeoutMs: number): Promise<void> {
    if (this.closed || sinceCounter !== this.changeCounter || timeoutMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: ChangeWaiter = {
        resolve: () => {
          clearTimeout(waiter.timer);
          this.waiters.delete(waiter);
          resolve();
        },
        timer: setTimeout(() => waiter.resolve(), timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  get counter(): number {
    return this.changeCounter;
  }

  /** Makes the first electable member primary at once, like `rs.initiate()` followed by an election. */
  initiate(): void {
    this.holdElection();
  }

  /** Test control: puts a member in any state; losing the primary starts an election. */
  setState(host: string, state: MemberState): void {
    const member = this.runtime(host);
    if (state === 'PRIMARY') {
      this.elect(host);
      return;
    }
    if (member.state === state) return;
    const previousPrimary = this.primaryHost;
    if (isUnreachable(member.state) && !isUnreachable(state)) {
      // Coming back is a restart: a new process, so a new topologyVersion.processId.
      member.processId = new ObjectId();
      member.startedAt = this.now();
    }
    // Removing a member (or adding it back) is a reconfiguration: a new config version.
    if ((member.state === 'REMOVED') !== (state === 'REMOVED')) this.config.version += 1;
    member.state = state;
    if (host === this.primaryHost) this.primaryHost = undefined;
    this.changed(previousPrimary);
  }

  /** Test control: makes `host` primary now, in a new term, demoting the current primary. */
  elect(host: string): void {
    const member = this.runtime(host);
    const config = this.config.members.find((candidate) => candidate.host === host)!;
    if (config.arbiterOnly) throw new RangeError(`${host} is an arbiter and cannot become primary`);
    const previousPrimary = this.primaryHost;
    if (previousPrimary && previousPrimary !== host) this.runtime(previousPrimary).state = 'SECONDARY';
    this.currentTerm += 1;
    member.state = 'PRIMARY';
    this.primaryHost = host;
    this.lastElection = { time: this.options.clusterTime(), date: new Date(this.now()) };
    this.changed(previousPrimary);
  }

  /** `replSetStepDown` on `host`: it becomes SECONDARY and may not stand again for `stepDownSecs`. */
  stepDown(host: string, stepDownSecs: number, force: boolean): void {
    if (host !== this.primaryHost)
      throw new CommandError(10107, 'NotWritablePrimary', "not primary so can't step down");
    const now = this.now();
    const electable = this.config.members.some(
      (member) =>
        member.host !== host &&
        member.priority > 0 &&
        this.stateOf(member.host) === 'SECONDARY' &&
        this.runtime(member.host).frozenUntil <= now,
    );
    if (!electable && !force) {
      throw new CommandError(
        262,
        'ExceededTimeLimit',
        'No electable secondaries caught up as of ' + new Date(now).toISOString(),
      );
    }
    const member = this.runtime(host);
    member.state = 'SECONDARY';
    member.frozenUntil = now + stepDownSecs * 1000;
    this.primaryHost = undefined;
    this.changed(host);
  }

  /** `replSetFreeze`: a SECONDARY will not stand for election for `seconds` (0 unfreezes). */
  freeze(host: string, seconds: number): void {
    const member = this.runtime(host);
    if (member.state === 'PRIMARY')
      throw new CommandError(95, 'NotSecondary', 'cannot freeze node when primary');
    member.frozenUntil = seconds === 0 ? 0 : this.now() + seconds * 1000;
    if (!this.primaryHost) this.scheduleElection(this.options.electionDelayMs);
  }

  frozenUntil(host: string): number {
    return this.runtime(host).frozenUntil;
  }

  close(): void {
    this.closed = true;
    if (this.electionTimer) clearTimeout(this.electionTimer);
    this.electionTimer = undefined;
    for (const waiter of [...this.waiters]) waiter.resolve();
    this.listeners.clear();
  }

  private runtime(host: string): MemberRuntime {
    const member = this.members.get(host);
    if (!member) throw new RangeError(`No member ${host} in replica set ${this.config.setName}`);
    return member;
  }

  private changed(previousPrimary: string | undefined): void {
    // A primary that no longer sees a majority of voters steps down, as the real one does.
    if (this.primaryHost && !hasVotingMajority(this.config, (host) => this.stateOf(host))) {
      this.runtime(this.primaryHost).state = 'SECONDARY';
      this.primaryHost = undefined;
    }
    this.changeCounter += 1;
    for (const waiter of [...this.waiters]) waiter.resolve();
    const change = { previousPrimary, primary: this.primaryHost };
    for (const listener of [...this.listeners]) listener(change);
    if (!this.primaryHost) this.scheduleElection(this.options.electionDelayMs);
  }

  private scheduleElection(delayMs: number): void {
    if (this.closed) return;
    if (this.electionTimer) clearTimeout(this.electionTimer);
    this.electionTimer = setTimeout(
      () => {
        this.electionTimer = undefined;
        this.holdElection();
      },
      Math.max(0, delayMs),
    );
  }

  private holdElection(): void {
    if (this.closed || this.primaryHost) return;
    const outcome = runElection({
      config: this.config,
      stateOf: (host) => this.stateOf(host),
      frozenUntil: (host) => this.runtime(host).frozenUntil,
      now: this.now(),
    });
    if (outcome.kind === 'elected') this.elect(outcome.host);
    else if (outcome.kind === 'no-candidate' && outcome.retryAt !== undefined) {
      this.scheduleElection(outcome.retryAt - this.now() + 1);
    }
  }
}
