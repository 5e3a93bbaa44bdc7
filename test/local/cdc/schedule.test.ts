import { afterEach, describe, expect, it } from 'vitest';
import { LocalCdcSchedule } from '../../../local/cdc/schedule.js';

const MINUTE_MS = 200;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the local CDC schedule (EventBridge Scheduler and the hand-over, locally)', () => {
  let schedule: LocalCdcSchedule;
  afterEach(async () => {
    await schedule?.stop();
  });

  it('fires an enabled pipe every rate(N minutes) its interval rounds up to, never a disabled one', async () => {
    schedule = new LocalCdcSchedule({ minuteMs: MINUTE_MS, tickMs: 10 });
    const fired: string[] = [];
    await schedule.ensure('every-minute', 2);
    await schedule.ensure('every-two-minutes', 61);
    await schedule.ensure('disabled', 60);
    const enabledAt = Date.now();
    await schedule.enable('every-minute');
    await schedule.enable('every-two-minutes');
    schedule.start(async (pipeId, trigger) => {
      fired.push(`${pipeId}:${trigger}`);
    });
    const count = (pipeId: string) => fired.filter((entry) => entry === `${pipeId}:schedule`).length;
    // However slow the machine, wait for three fires (bounded), then hold the counts against the
    // time that passed: a schedule fires once per whole period since it was enabled, never more.
    for (let poll = 0; poll < 500 && count('every-minute') < 3; poll += 1) await sleep(20);
    const counts = { everyMinute: count('every-minute'), everyTwo: count('every-two-minutes') };
    const elapsedMs = Date.now() - enabledAt;
    expect(counts.everyMinute).toBeGreaterThanOrEqual(3);
    expect(counts.everyMinute).toBeLessThanOrEqual(Math.floor(elapsedMs / MINUTE_MS));
    expect(counts.everyTwo).toBeGreaterThanOrEqual(1);
    expect(counts.everyTwo).toBeLessThanOrEqual(Math.floor(elapsedMs / (2 * MINUTE_MS)));
    // The same clock drives both: the one-minute schedule is the more frequent, however late the ticks.
    expect(counts.everyTwo).toBeLessThan(counts.everyMinute);
    expect(count('disabled')).toBe(0);
  });

  it('keeps a new interval (a settings change) and stops firing once disabled or removed', async () => {
    schedule = new LocalCdcSchedule({ minuteMs: MINUTE_MS, tickMs: 10 });
    await schedule.ensure('p', 60);
    await schedule.ensure('p', 300);
    expect(schedule.get('p')).toEqual({ intervalSeconds: 300, enabled: false });
    await schedule.enable('p');
    expect(schedule.enabledPipes()).toEqual(['p']);
    await schedule.disable('p');
    expect(schedule.get('p')).toEqual({ intervalSeconds: 300, enabled: false });
    await schedule.remove('p');
    expect(schedule.get('p')).toBeUndefined();
    await schedule.remove('p');
  });

  it('runSoon invokes at once once started (false before), and stop waits for runs in progress', async () => {
    schedule = new LocalCdcSchedule({ minuteMs: 60_000 });
    await expect(schedule.runSoon('p', 'hand-over')).resolves.toBe(false);
    let finished = false;
    const calls: string[] = [];
    schedule.start(async (pipeId, trigger) => {
      calls.push(`${pipeId}:${trigger}`);
      await sleep(150);
      finished = true;
    });
    await expect(schedule.runSoon('p', 'hand-over')).resolves.toBe(true);
    expect(calls).toEqual(['p:hand-over']);
    expect(schedule.running()).toBe(1);
    await schedule.stop();
    expect(finished).toBe(true);
    await expect(schedule.runSoon('p', 'restart')).resolves.toBe(false);
  });

  it('reports a failed invocation and goes on', async () => {
    const errors: string[] = [];
    schedule = new LocalCdcSchedule({
      minuteMs: MINUTE_MS,
      tickMs: 10,
      onError: (pipeId, error) => errors.push(`${pipeId}: ${String(error)}`),
    });
    schedule.start(async () => {
      throw new Error('source unavailable');
    });
    await schedule.runSoon('p', 'restart');
    await sleep(20);
    expect(errors).toEqual(['p: Error: source unavailable']);
  });
});
