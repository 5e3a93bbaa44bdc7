/** What the admin commands need from the deployment. */
import type { Timestamp } from 'bson';
import { CommandError } from '../../contract.js';
import type { FailPointRegistry } from '../../faults/fail-points.js';
import type { CommandRegistry } from '../../server/registry.js';
import type { SessionRegistry } from '../../sessions/session-registry.js';
import type { LastWrite } from '../../topology/hello-response.js';
import type { ReplicaSetTopology } from '../../topology/topology.js';

export interface AdminDeps {
  topology: ReplicaSetTopology;
  registry: CommandRegistry;
  /** The fail points of one member. */
  failPoints: (memberName: string) => FailPointRegistry;
  sessions: SessionRegistry;
  lastWrite: () => LastWrite;
  /** Oldest and newest oplog entry times, for `serverStatus` with `oplog: 1`. */
  oplogWindow: () => { earliest?: Timestamp; latest?: Timestamp };
  /** Open client connections on a member. */
  connectionCount: (memberName: string) => number;
}

/** Commands the real server only accepts on the `admin` database. */
export function requireAdmin(db: string, name: string): void {
  if (db !== 'admin') {
    throw new CommandError(13, 'Unauthorized', `${name} may only be run against the admin database.`);
  }
}

export function portOf(memberName: string): number {
  return Number(memberName.slice(memberName.lastIndexOf(':') + 1));
}
