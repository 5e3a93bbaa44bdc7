import type { Destination } from '../ports/destination.js';

/** The slices of the destination port each engine calls, so test doubles stay small. */
export type RowSink = Pick<Destination, 'insertRows'>;
/** The snapshot chunk inserts bodies it encoded itself. */
export type EncodedSink = Pick<Destination, 'insertEncoded'>;
export type ResyncTableOps = Pick<
  Destination,
  'createResyncTable' | 'swapResyncTable' | 'dropSwappedOutTable'
>;
