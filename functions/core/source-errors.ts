import { FatalError } from './errors.js';

/**
 * Errors only the MongoDB source adapter raises. Their names are part of the statemachines/
 * contract and are listed in error-names.ts.
 */

/** The source is a standalone mongod: it has no oplog, so no change stream can be opened on it. */
export class StandaloneSourceError extends FatalError {
  constructor(readonly host: string) {
    super(
      `the MongoDB source ${host} is a standalone server: change streams need a replica set or a sharded cluster. ` +
        'Convert it to a (single-member) replica set with --replSet and rs.initiate(), then try again',
    );
  }
}

/** The pipe has neither a committed resume point nor a recorded start point to open a change stream from. */
export class NoResumePointError extends FatalError {
  constructor() {
    super(
      'no resume point and no recorded start point: record the start point (setup) before reading changes',
    );
  }
}
