import { timestampParts } from './bson-kind.js';
import { UnsupportedValueError } from './errors.js';

/** A change event's cluster time: seconds since the epoch and the oplog increment within that second. */
export interface ClusterTime {
  t: number;
  i: number;
}

const UINT32_MAX = 0xffff_ffff;

/** Snapshot rows carry version 0 so that any CDC row for the same `_id` replaces them. */
export const SNAPSHOT_VERSION = 0n;

/** Read `{t, i}` from a plain object, a bson Timestamp (`t`/`i` or `high`/`low`), or refuse. */
export function toClusterTime(value: unknown): ClusterTime {
  let parts: ClusterTime;
  try {
    parts = timestampParts(value);
  } catch {
    throw new UnsupportedValueError('cluster time must be a BSON Timestamp or an object with t and i');
  }
  for (const [name, part] of Object.entries(parts)) {
    if (!Number.isInteger(part) || part < 0 || part > UINT32_MAX) {
      throw new UnsupportedValueError(`cluster time ${name} must be an unsigned 32-bit integer, got ${part}`);
    }
  }
  return parts;
}

/**
 * `_peerdb_version` of a CDC row: t·2³² + i, so versions order exactly like oplog positions and a
 * replayed event gets the same version it had the first time.
 */
export function versionFromClusterTime(clusterTime: unknown): bigint {
  const { t, i } = toClusterTime(clusterTime);
  return versionOf(t, i);
}

/** The version of a cluster time already read as two unsigned 32-bit integers (a raw event's). */
export function versionOf(seconds: number, increment: number): bigint {
  return (BigInt(seconds) << 32n) | BigInt(increment);
}

/** The same version as decimal text, for JSON rows (a UInt64 does not fit a JS number). */
export function versionString(clusterTime: unknown): string {
  return versionFromClusterTime(clusterTime).toString();
}

/** The cluster time a version was computed from (inverse of versionFromClusterTime). */
export function clusterTimeFromVersion(version: bigint): ClusterTime {
  return { t: Number(version >> 32n), i: Number(version & 0xffff_ffffn) };
}
