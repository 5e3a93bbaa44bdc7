import { describe, expect, it } from 'vitest';
import type { DynamoPipeStore } from '../../../functions/adapters/dynamodb/store.js';
import { CDC_HISTORY_LENGTH, type CdcSample } from '../../../functions/ports/pipe-store.js';
import { useDynalite } from '../../support/dynalite.js';
import { ManualClock, newStore, pipeInput } from './fixtures.js';

let store: DynamoPipeStore;
const clock = new ManualClock();
const MINUTE = 60_000;
const START = Date.UTC(2026, 11, 6, 10, 0, 0);

useDynalite((started) => {
  store = newStore(started, clock);
});

async function newPipe(): Promise<string> {
  return (await store.createPipe(pipeInput())).pipe.id;
}

const sample = (minute: number, events: number, lagMs: number | null = 1_500): CdcSample => ({
  at: START + minute * MINUTE + 5_000,
  runStartedAt: START,
  lagMs,
  events,
  eventsPerSecond: events / 10,
});

describe('CDC history', () => {
  it('lists the samples oldest first, each as written', async () => {
    const pipeId = await newPipe();
    expect(await store.listCdcSamples(pipeId)).toEqual([]);
    await store.recordCdcSample(pipeId, sample(2, 30, null));
    await store.recordCdcSample(pipeId, sample(0, 10));
    await store.recordCdcSample(pipeId, sample(1, 20, 0));
    expect(await store.listCdcSamples(pipeId)).toEqual([
      sample(0, 10),
      sample(1, 20, 0),
      sample(2, 30, null),
    ]);
  });

  it(`keeps the last ${CDC_HISTORY_LENGTH}: a longer run overwrites its oldest minutes`, async () => {
    const pipeId = await newPipe();
    const minutes = CDC_HISTORY_LENGTH + 15;
    for (let minute = 0; minute < minutes; minute++)
      await store.recordCdcSample(pipeId, sample(minute, minute));
    const kept = await store.listCdcSamples(pipeId);
    expect(kept).toHaveLength(CDC_HISTORY_LENGTH);
    expect(kept[0]).toEqual(sample(15, 15));
    expect(kept.at(-1)).toEqual(sample(minutes - 1, minutes - 1));
  });

  it('keeps the newest sample of a minute: a late write of an older one is ignored', async () => {
    const pipeId = await newPipe();
    const ending = { ...sample(3, 40), at: START + 3 * MINUTE + 50_000 };
    await store.recordCdcSample(pipeId, sample(3, 35));
    await store.recordCdcSample(pipeId, ending);
    await store.recordCdcSample(pipeId, sample(3, 36));
    expect(await store.listCdcSamples(pipeId)).toEqual([ending]);
  });

  it('refuses a sample with a negative count and keeps no part of it', async () => {
    const pipeId = await newPipe();
    await expect(store.recordCdcSample(pipeId, { ...sample(0, 1), events: -1 })).rejects.toThrow(/events/);
    expect(await store.listCdcSamples(pipeId)).toEqual([]);
  });

  it('is deleted with its pipe', async () => {
    const pipeId = await newPipe();
    await store.recordCdcSample(pipeId, sample(0, 1));
    await store.deletePipe(pipeId);
    expect(await store.listCdcSamples(pipeId)).toEqual([]);
  });
});
