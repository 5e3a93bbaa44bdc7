/**
 * How a pipe's CDC runs follow the change stream (docs/engines.md):
 * - `scheduled` (syncIntervalSeconds ≥ 60): the schedule starts a run every interval; the run
 *   drains batch after batch until caught up, then stops (an idle pipe costs about a second);
 * - `continuous` (below 60): a run stays on the stream for its whole budget and flushes every
 *   syncIntervalSeconds, then hands over to the next run; seconds of lag, always-on cost.
 */
export type CdcMode = 'scheduled' | 'continuous';

/** An EventBridge schedule fires at most once a minute: below that, runs stay on the stream. */
export const CONTINUOUS_BELOW_SECONDS = 60;

export function cdcModeOf(syncIntervalSeconds: number): CdcMode {
  return syncIntervalSeconds < CONTINUOUS_BELOW_SECONDS ? 'continuous' : 'scheduled';
}

/** Pipe states in which CDC runs: every state but Pausing/Paused and the ends (docs/lifecycle.md). */
export const CDC_PIPE_STATES = ['Snapshot', 'Resync', 'Modifying', 'Running'] as const;

export function cdcRunsIn(state: string): boolean {
  return (CDC_PIPE_STATES as readonly string[]).includes(state);
}
