import type { Destination } from '../ports/destination.js';

/** The slices of the destination port each engine calls, so test doubles stay small. */
export type RowSink = Pick<Destination, 'insertRows'>;
export type ResyncTableOps = Pick<
  Destination,
  'createResyncTable' | 'swapResyncTable' | 'dropSwappedOutTable'
>;
