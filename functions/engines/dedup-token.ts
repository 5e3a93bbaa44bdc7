import { createHash } from 'node:crypto';

/**
 * A deduplication token for one insert, derived only from what identifies the batch, so a
 * replay of the same batch after a crash carries the same token and ClickHouse drops it.
 */
export function deduplicationToken(
  kind: 'snapshot' | 'cdc',
  parts: readonly (string | number | null)[],
): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([kind, ...parts]))
    .digest('hex');
  return `${kind}-${digest.slice(0, 40)}`;
}
