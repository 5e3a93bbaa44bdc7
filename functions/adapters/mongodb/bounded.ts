import { redactText } from '../../core/redact.js';

/**
 * `work`, or the error `expired()` makes once `ms` have passed: for server calls whose own
 * timeouts may not end them (a blocked connection). The timer is cleared either way; the work
 * itself is abandoned, not cancelled.
 */
export async function withinDeadline<T>(work: Promise<T>, ms: number, expired: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(expired()), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** An error's message for a reason shown to users: redacted first (so no cut leaves half a URI), then cut. */
export function briefMessage(err: unknown, limit = 200): string {
  const message = redactText(err instanceof Error ? err.message : String(err));
  return message.length > limit ? `${message.slice(0, limit)}…` : message;
}
