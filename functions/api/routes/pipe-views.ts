import type { PipeSettings } from '../../core/settings.js';
import { parseSettings } from '../../core/settings.js';
import type { LifecycleOperation, StartedOperation } from '../../ports/lifecycle.js';
import { CDC_LEASE, type PipeRecord, type PipeStore } from '../../ports/pipe-store.js';
import { pipeView } from '../view.js';

/** The full view of a pipe as stored now (pipe, tables, CDC position). */
export async function loadPipeView(store: PipeStore, pipeId: string) {
  const pipe = await store.getPipe(pipeId);
  return viewOf(store, pipe);
}

export async function viewOf(store: PipeStore, pipe: PipeRecord) {
  const [tables, resume, run, lease] = await Promise.all([
    store.listTableMappings(pipe.id),
    store.getResumePoint(pipe.id),
    store.getCdcRun(pipe.id),
    store.getLease(pipe.id, CDC_LEASE),
  ]);
  return pipeView(pipe, tables, { resume, run, lease, now: Date.now() });
}

/** A 202 body: the pipe as it is now, plus which operation was started and its execution. */
export async function acceptedView(
  store: PipeStore,
  pipeId: string,
  operation: LifecycleOperation,
  started: StartedOperation | null,
) {
  return { ...(await loadPipeView(store, pipeId)), operation, executionId: started?.executionId ?? null };
}

/** Settings as stored were validated at creation; re-parsing fills any default added since. */
export function storedSettings(pipe: PipeRecord): PipeSettings {
  return parseSettings(pipe.settings, ['settings']);
}
