import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { swapResyncTable } from '../../engines/resync.js';
import { CDC_LEASE } from '../../ports/pipe-store.js';
import type { Runtime } from '../runtime.js';
import { defineTask } from '../task.js';
import { applyEvent, isSnapshotOnly, loadPipe, pipeInput, withConnections } from './common.js';

const input = pipeInput.extend({ prepared: z.object({ scope: z.enum(['pipe', 'tables']) }) });

const MOVE_LEASE_MS = 60_000;

/**
 * Resync → Running (or Completed): each loaded `<table>_resync` swapped in, and for a
 * whole-pipe resync the resume point moved to the resync's start point. The move takes the CDC
 * lease like a batch does, so it waits out (LeaseHeldError, retried) a batch still in flight.
 */
export const swapTablesTask = defineTask('SwapTables', input, async (runtime, command) => {
  const loaded = await loadPipe(runtime, command.pipeId);
  const { store } = runtime;
  await withConnections(runtime, loaded, async ({ destination }) => {
    for (const mapping of await store.listTableMappings(command.pipeId)) {
      if (mapping.state === 'Resync')
        await swapResyncTable({ store, destination }, { pipeId: command.pipeId, tableKey: mapping.tableKey });
    }
  });
  if (command.prepared.scope === 'pipe') await moveResumePointToStart(runtime, command.pipeId);
  await store.clearError(command.pipeId);
  const snapshotOnly = isSnapshotOnly(loaded.settings);
  return applyEvent(runtime, command.pipeId, snapshotOnly ? 'swapDoneSnapshotOnly' : 'swapDone', {
    expectedState: 'Resync',
    actor: command.requestedBy,
    requestId: command.requestId,
    reason: 'resync tables swapped in',
  });
});

async function moveResumePointToStart(runtime: Runtime, pipeId: string): Promise<void> {
  const { store } = runtime;
  const start = await store.getStartPoint(pipeId);
  // Without a cluster time the start point cannot be a resume point; CDC then replays from the
  // older one, which versions make correct (only longer).
  if (!start?.clusterTime) return;
  const holder = `resync-${randomUUID()}`;
  const lease = await store.acquireLease(pipeId, CDC_LEASE, holder, MOVE_LEASE_MS);
  try {
    await store.commitResumePoint(
      pipeId,
      { token: start.token, clusterTime: start.clusterTime },
      lease.fence,
    );
  } finally {
    await store.releaseLease(pipeId, CDC_LEASE, holder, lease.fence);
  }
}

export const handler = swapTablesTask.handler;
