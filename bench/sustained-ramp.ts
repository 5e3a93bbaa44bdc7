/** Phase 3 of the sustained section (bench/sustained.ts): the ramp to the highest rate the scheduled path sustains. */
import { cpuLine } from './report.js';
import type { DrainFigures, StepFigures, SustainedFigures } from './sustained.js';
import {
  type Context,
  cleanUp,
  failuresLine,
  fmt,
  LoadPhase,
  ms,
  SCHEDULED_INTERVAL_S,
  secondsSince,
  TOLERANCE_S,
} from './sustained-phase.js';

export async function rampPhase(context: Context, drain: DrainFigures): Promise<SustainedFigures['ramp']> {
  const { options, intervalMs } = context;
  const first =
    options.rampFrom > 0
      ? options.rampFrom
      : Math.max(2_000, Math.floor((0.5 * drain.rate) / options.rampStep) * options.rampStep);
  const carried = `${TOLERANCE_S} s of writes or one CDC batch (${fmt(drain.largestBatch)} events, the largest of 5.1), whichever is larger`;
  console.log(
    '  sustained: at every scheduled tick while the step writes, the backlog (inserts acknowledged − rows in ' +
      'ClickHouse) is at most the inserts acknowledged during the interval before that tick plus a tolerance of ' +
      `${carried}: no more than one batch is carried from an interval into the next, so the backlog does not grow ` +
      'from interval to interval (each run catches up, or keeps shrinking what the last one left). Above the drain ' +
      'rate the carried backlog grows by (rate − drain rate) × interval per interval, and the step fails once that ' +
      `exceeds the tolerance. Each step runs on a fresh pipe and collection for ${options.stepMinutes} intervals; ` +
      `the first at ${fmt(first)}/s${options.rampFrom > 0 ? '' : ' (half the drain rate, rounded down)'}, then ` +
      `+${fmt(options.rampStep)}/s up to the first step not sustained, then ${options.rampBisect} bisection steps.`,
  );
  const steps: StepFigures[] = [];
  let low: number | null = null;
  let high: number | null = null;
  const step = async (target: number) => {
    const figures = await rampStep(context, steps.length + 1, target, drain.largestBatch);
    steps.push(figures);
    return figures.sustained;
  };
  for (let target = first; steps.length < options.rampMaxSteps; target += options.rampStep) {
    if (await step(target)) low = target;
    else {
      high = target;
      break;
    }
  }
  for (let k = 0; k < options.rampBisect && high !== null; k += 1) {
    const floor = low ?? options.rate;
    const middle = Math.round((floor + high) / 2 / 50) * 50;
    if (middle <= floor || middle >= high) break;
    if (await step(middle)) low = middle;
    else high = middle;
  }
  const highest = steps
    .filter((figures) => figures.sustained)
    .reduce<StepFigures | null>(
      (best, figures) => (best === null || figures.achieved > best.achieved ? figures : best),
      null,
    );
  const ratio = highest ? highest.achieved / drain.rate : null;
  console.log(
    '\n  | step | target | achieved | largest carry-over | sustained | drained while writing | lag p50 | lag p99 | lag max |',
  );
  console.log('  |---|---|---|---|---|---|---|---|---|');
  for (const [k, figures] of steps.entries()) {
    const lag = figures.lag;
    console.log(
      `  | ${k + 1} | ${fmt(figures.target)}/s | ${fmt(figures.achieved)}/s${figures.writerShort ? ' (short)' : ''} | ` +
        `${fmt(figures.carryOver)} | ${figures.sustained ? 'yes' : 'no'} | ` +
        `${figures.drainedWhileWriting === null ? '–' : `${fmt(figures.drainedWhileWriting)}/s`} | ` +
        `${lag ? ms(lag.p50) : '–'} | ${lag ? ms(lag.p99) : '–'} | ${lag ? ms(lag.max) : '–'} |`,
    );
  }
  console.log(
    "  (carry-over: the most a tick found beyond the interval's own inserts; drained while writing: rows that " +
      "reached ClickHouse from the step's first scheduled tick to the writer's stop, per second; (short): the " +
      'writer fell more than 3% short of its target, the simulator could not take the writes faster)',
  );
  console.log(
    highest
      ? `  highest sustained rate: **${fmt(highest.achieved)} inserts/s** (step target ${fmt(highest.target)}/s)` +
          `${high === null ? ', no step failed' : `; lowest target not sustained: ${fmt(high)}/s`}; ` +
          `ratio to the drain rate (${fmt(drain.rate)} events/s): **${(ratio ?? 0).toFixed(2)}** ` +
          `(target ≥ 0.8: ${ratioVerdict(ratio, high !== null)}); resolution: a rate about ` +
          `${fmt(Math.max(TOLERANCE_S * highest.target, drain.largestBatch) / (((options.stepMinutes - 1) * intervalMs) / 1000))}/s ` +
          'above the drain rate still passes a step'
      : '  no step was sustained',
  );
  return { highest, ratio, ceilingFound: high !== null, steps };
}

/** Below 0.8 only counts once a step failed: otherwise the ramp stopped before finding the ceiling. */
export function ratioVerdict(ratio: number | null, ceilingFound: boolean): string {
  if ((ratio ?? 0) >= 0.8) return 'met';
  return ceilingFound ? 'NOT met' : 'not decided: no step failed, raise --ramp-max-steps';
}

async function rampStep(
  context: Context,
  index: number,
  target: number,
  largestBatch: number,
): Promise<StepFigures> {
  const { options, intervalMs } = context;
  // A few seconds past the last interval, so that the step's last tick falls while it writes.
  const seconds = (options.stepMinutes * intervalMs) / 1000 + 5;
  console.log(`\n  step ${index}: ${fmt(target)} inserts/s for ${options.stepMinutes} intervals`);
  const phase = await LoadPhase.begin(
    context,
    `sustained_ramp_${index}`,
    SCHEDULED_INTERVAL_S,
    target,
    seconds,
  );
  await phase.write(0);
  const tolerance = Math.max(TOLERANCE_S * target, largestBatch);
  let previous = phase.startedAt;
  let ticks = 0;
  let carryOver = 0;
  let firstTick: number | null = null;
  for (const tick of phase.ticks) {
    if (tick.trigger !== 'schedule' || tick.at > phase.stoppedAt) continue;
    const written = phase.acks.writtenBetween(previous, tick.at);
    previous = tick.at;
    if (!tick.sample) continue;
    firstTick ??= tick.at;
    ticks += 1;
    const backlog = tick.sample.acked - tick.sample.replicated;
    carryOver = Math.max(carryOver, backlog - written);
    console.log(
      `  tick ${secondsSince(phase.startedAt, tick.at)} s: backlog ${fmt(backlog)} ` +
        `${backlog <= written + tolerance ? '≤' : '>'} the interval's inserts ${fmt(written)} + ${fmt(tolerance)}`,
    );
  }
  const failures = phase.failures();
  const sustained = ticks >= 2 && failures.length === 0 && carryOver <= tolerance;
  const reasons = [
    ...(ticks < 2 ? [`only ${ticks} scheduled ticks while writing`] : []),
    ...(failures.length > 0 ? ['the pipe failed'] : []),
    ...(carryOver > tolerance ? [`a tick found ${fmt(carryOver)} more than its interval's inserts`] : []),
  ];
  const verdict = sustained ? 'sustained' : `not sustained (${reasons.join('; ')})`;
  let drainedWhileWriting: number | null = null;
  if (firstTick !== null) {
    const from = phase.sampler.at(firstTick);
    const to = phase.sampler.samples.filter((sample) => sample.at <= phase.stoppedAt).at(-1);
    if (from && to && to.at > from.at)
      drainedWhileWriting = (to.replicated - from.replicated) / ((to.at - from.at) / 1000);
  }
  let drainLine = 'not waited for (not sustained)';
  if (sustained) {
    const drained = await phase.drained(2 * intervalMs + 60_000);
    drainLine = drained
      ? `backlog 0 ${(((phase.drainedAt ?? 0) - phase.stoppedAt) / 1000).toFixed(1)} s after the writer stopped`
      : 'backlog not 0 within two intervals after the writer stopped';
  }
  await phase.finish();
  const lag = sustained ? await phase.lag() : null;
  console.log(`  ${phase.writerLine()}`);
  phase.printRuns();
  console.log(
    `  verdict: ${verdict}; ${drainLine}` +
      (drainedWhileWriting === null
        ? ''
        : `; rows reaching ClickHouse from the first tick to the writer's stop: ${fmt(drainedWhileWriting)}/s`),
  );
  if (lag)
    console.log(
      `  lag of ${fmt(lag.count)} of ${fmt(phase.acks.acked)} rows: p50 ${ms(lag.p50)}, p99 ${ms(lag.p99)}, max ${ms(lag.max)}`,
    );
  failuresLine(phase);
  console.log(`  ${cpuLine(phase.cpu, phase.wall)}; simulator RSS ${phase.simulatorRss()}`);
  await cleanUp(context, phase.pipe);
  return {
    target,
    achieved: phase.achievedRate,
    writerShort: phase.achievedRate < 0.97 * target,
    sustained,
    carryOver,
    drainedWhileWriting,
    lag,
  };
}
