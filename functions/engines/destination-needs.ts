import type { Destination } from '../ports/destination.js';

/** The slices of the destination port each engine calls, so test doubles stay small. */
/** The snapshot chunk and the CDC batch insert bodies they encoded themselves. */
export type EncodedSink = Pick<Destination, 'insertEncoded'>;
/** Where a snapshot chunk streams its batches. */
export type StreamedSink = Pick<Destination, 'insertStreamed'>;
export type ResyncTableOps = Pick<
  Destination,
  'createResyncTable' | 'swapResyncTable' | 'dropSwappedOutTable'
>;
