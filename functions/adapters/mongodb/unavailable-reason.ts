import { redactText } from '../../core/redact.js';

/** Why a fact could not be read: the role to grant when the server said Unauthorized (13). */
export function unavailableReason(err: unknown, what: string, grant = 'clusterMonitor'): string {
  const code = (err as { code?: unknown }).code;
  if (code === 13) return `not authorised to run ${what} (grant ${grant} to see it)`;
  return redactText(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
}
