/**
 * Write concerns the set can never satisfy. The server performs the write, then fails the wait
 * at once with a `writeConcernError` (100 UnsatisfiableWriteConcern) when `w` asks for more
 * data-bearing members than the configuration has. Every other write concern is met at once
 * here, since replication is instantaneous.
 */
import type { Document } from 'bson';

export function unsatisfiedWriteConcern(body: Document, dataBearingMembers: number): Document | undefined {
  const w = (body.writeConcern as Document | undefined)?.w;
  const wanted =
    typeof w === 'number' ? w : typeof w?.valueOf === 'function' ? Number(w.valueOf()) : Number.NaN;
  if (typeof w === 'string' || !Number.isFinite(wanted) || wanted <= dataBearingMembers) return undefined;
  return { code: 100, codeName: 'UnsatisfiableWriteConcern', errmsg: 'Not enough data-bearing nodes' };
}
