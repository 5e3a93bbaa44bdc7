import type { CdcScheduler } from '../../functions/ports/lifecycle.js';

const DEFAULT_INTERVAL_SECONDS = 60;

export interface LocalSchedule {
  intervalSeconds: number;
  enabled: boolean;
}

/**
 * The CdcScheduler locally: the schedules' state, read by the local runtime's interval loop
 * (which runs the cdc-batch handler for every enabled pipe). Same rules as EventBridge
 * Scheduler: created disabled, removing a missing one is not an error. Schedules live in
 * memory, so enabling a missing one creates it (after a restart the runtime re-enables the
 * Running pipes' schedules).
 */
export class LocalCdcScheduler implements CdcScheduler {
  private readonly schedules = new Map<string, LocalSchedule>();

  async ensure(pipeId: string, intervalSeconds: number): Promise<void> {
    if (!this.schedules.has(pipeId)) this.schedules.set(pipeId, { intervalSeconds, enabled: false });
  }

  async enable(pipeId: string): Promise<void> {
    const schedule = this.schedules.get(pipeId);
    if (schedule) schedule.enabled = true;
    else this.schedules.set(pipeId, { intervalSeconds: DEFAULT_INTERVAL_SECONDS, enabled: true });
  }

  async disable(pipeId: string): Promise<void> {
    const schedule = this.schedules.get(pipeId);
    if (schedule) schedule.enabled = false;
  }

  async remove(pipeId: string): Promise<void> {
    this.schedules.delete(pipeId);
  }

  get(pipeId: string): LocalSchedule | undefined {
    const schedule = this.schedules.get(pipeId);
    return schedule ? { ...schedule } : undefined;
  }

  enabledPipes(): string[] {
    return [...this.schedules].filter(([, schedule]) => schedule.enabled).map(([pipeId]) => pipeId);
  }
}
