/** What one CDC batch did, as the metrics report it. */
export interface CdcBatchMetrics {
  events: number;
  /** Rows written (a table in resync counts its live and `_resync` rows). */
  rows: number;
  bytes: number;
  /** now − cluster time of the committed point while events were pending; 0 caught up; null: nothing committed. */
  lagMs: number | null;
}

/** Where CDC reports itself: CloudWatch metrics in AWS, the console locally. */
export interface CdcMetrics {
  batchApplied(pipeId: string, metrics: CdcBatchMetrics): void;
  /** A CDC run failed the pipe (no state machine, so no MarkFailed counts it). */
  pipeFailed(pipeId: string): void;
}
