import type { CdcScheduler, CdcTrigger, CdcTriggerReason } from '../../functions/ports/lifecycle.js';

export interface LocalSchedule {
  intervalSeconds: number;
  enabled: boolean;
}

/** Runs one CDC invocation of a pipe, as Lambda would (the handler with a Lambda-like context). */
export type CdcInvoker = (pipeId: string, trigger: 'schedule' | CdcTriggerReason) => Promise<unknown>;

export interface LocalCdcScheduleOptions {
  /** The length of one schedule minute: 60 000 ms, as EventBridge Scheduler counts; tests shorten it. */
  minuteMs?: number;
  /** How often due schedules are looked for (default 250 ms). */
  tickMs?: number;
  /** Where an invocation's error goes (EventBridge would log it and try at the next tick). */
  onError?: (pipeId: string, error: unknown) => void;
}

const DEFAULT_MINUTE_MS = 60_000;
const DEFAULT_TICK_MS = 250;

/**
 * EventBridge Scheduler and the CDC hand-over, locally: one schedule per pipe, created disabled,
 * firing every `rate(N minutes)` that syncIntervalSeconds rounds up to (at least one minute,
 * like the deployed schedule), and `runSoon` invoking at once. Until `start` is called it only
 * keeps the schedules' state (the state machine tests read it), and `runSoon` reports false.
 * Schedules live in memory; after a restart the local runtime enables the pipes that run CDC.
 */
export class LocalCdcSchedule implements CdcScheduler, CdcTrigger {
  private readonly schedules = new Map<string, LocalSchedule & { nextAt: number }>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly minuteMs: number;
  private readonly tickMs: number;
  private invoke: CdcInvoker | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: LocalCdcScheduleOptions = {}) {
    this.minuteMs = options.minuteMs ?? DEFAULT_MINUTE_MS;
    this.tickMs = options.tickMs ?? DEFAULT_TICK_MS;
  }

  async ensure(pipeId: string, intervalSeconds: number): Promise<void> {
    const schedule = this.schedules.get(pipeId);
    if (schedule) schedule.intervalSeconds = intervalSeconds;
    else this.schedules.set(pipeId, { intervalSeconds, enabled: false, nextAt: Number.POSITIVE_INFINITY });
  }

  async enable(pipeId: string): Promise<void> {
    const schedule = this.schedules.get(pipeId) ?? { intervalSeconds: 60, enabled: false, nextAt: 0 };
    if (!schedule.enabled) schedule.nextAt = Date.now() + this.periodMs(schedule.intervalSeconds);
    schedule.enabled = true;
    this.schedules.set(pipeId, schedule);
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
    return schedule ? { intervalSeconds: schedule.intervalSeconds, enabled: schedule.enabled } : undefined;
  }

  enabledPipes(): string[] {
    return [...this.schedules].filter(([, schedule]) => schedule.enabled).map(([pipeId]) => pipeId);
  }

  async runSoon(pipeId: string, reason: CdcTriggerReason): Promise<boolean> {
    if (!this.invoke) return false;
    this.track(pipeId, reason);
    return true;
  }

  /** Starts firing: every due schedule, and every runSoon from now on, invokes `invoke`. */
  start(invoke: CdcInvoker): void {
    this.invoke = invoke;
    this.timer = setInterval(() => this.fireDue(), this.tickMs);
    this.timer.unref();
  }

  /** Stops firing and waits for the invocations in progress (the caller asks them to end first). */
  async stop(): Promise<void> {
    this.invoke = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.inFlight]);
  }

  /** The pipes with an invocation in progress. */
  running(): number {
    return this.inFlight.size;
  }

  private periodMs(intervalSeconds: number): number {
    return Math.max(1, Math.ceil(intervalSeconds / 60)) * this.minuteMs;
  }

  private fireDue(): void {
    const now = Date.now();
    for (const [pipeId, schedule] of this.schedules) {
      if (!schedule.enabled || schedule.nextAt > now) continue;
      schedule.nextAt = now + this.periodMs(schedule.intervalSeconds);
      this.track(pipeId, 'schedule');
    }
  }

  private track(pipeId: string, trigger: 'schedule' | CdcTriggerReason): void {
    const invoke = this.invoke;
    if (!invoke) return;
    const call = invoke(pipeId, trigger)
      .catch((error: unknown) => this.options.onError?.(pipeId, error))
      .finally(() => this.inFlight.delete(call));
    this.inFlight.add(call);
  }
}
