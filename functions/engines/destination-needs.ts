import type { Destination } from '../ports/destination.js';

/** The slices of the destination port each engine calls, so test doubles stay small. */
/** The snapshot chunk and the CDC batch insert bodies they encoded themselves. */
export type EncodedSink = Pick<Destination, 'insertEncoded'>;
export type ResyncTableOps = Pick<
  Destination,
  'createResyncTable' | 'swapResyncTable' | 'dropSwappedOutTable'
>;
