import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { PipeEvent, PipeState } from '../../core/lifecycle.js';
import type { TableRef } from '../../ports/destination.js';
import type {
  ApplyEventOptions,
  CdcRunRecord,
  CdcSample,
  CreatePipeInput,
  ListOptions,
  PartitionCheckpoint,
  PartitionPlanEntry,
  PendingBatch,
  PipeStore,
  PlanFence,
  ResumePointInput,
  SettingsUpdateExpectation,
  TableMappingInput,
  TableState,
  TableStateChange,
} from '../../ports/pipe-store.js';
import type { StartPointInput } from '../../ports/source.js';
import { getCdcRun, recordCdcRun } from './cdc-runs.js';
import { listCdcSamples, recordCdcSample } from './cdc-samples.js';
import { withNamedStoreErrors } from './context.js';
import { applyEvent, listHistory } from './history.js';
import { acquireLease, getLease, releaseLease, renewLease, revokeLease } from './leases.js';
import {
  checkpointPartition,
  deletePartitionPlan,
  listPartitions,
  markPartitionDone,
  recordPendingBatch,
  savePartitionPlan,
} from './partitions.js';
import {
  clearError,
  createPipe,
  deletePipe,
  getPipe,
  listPipes,
  listPipesByState,
  recordError,
  type StoreContextWithIds,
} from './pipes.js';
import { commitResumePoint, getResumePoint, getStartPoint, recordStartPoint } from './resume-points.js';
import { updateSettings } from './settings.js';
import {
  claimTable,
  getTableClaim,
  listTableClaims,
  releaseAllTableClaims,
  releaseTableClaim,
} from './table-claims.js';
import { DEFAULT_PIPE_STORE_TABLE_NAME } from './table-definition.js';
import {
  addTypeMismatches,
  getTableMapping,
  listTableMappings,
  putTableMapping,
  refreshTableProgress,
  setTableEstimate,
  setTableState,
} from './tables.js';

export interface DynamoPipeStoreOptions {
  client: DynamoDBClient;
  tableName?: string;
  /** Epoch milliseconds; tests pass a controllable clock to expire leases without sleeping. */
  now?: () => number;
  newPipeId?: () => string;
}

/** The PipeStore port on one DynamoDB table (layout: docs/pipe-store.md). */
export class DynamoPipeStore implements PipeStore {
  private readonly ctx: StoreContextWithIds;

  constructor(options: DynamoPipeStoreOptions) {
    this.ctx = {
      client: withNamedStoreErrors(options.client),
      tableName: options.tableName ?? DEFAULT_PIPE_STORE_TABLE_NAME,
      now: options.now ?? Date.now,
      newPipeId: options.newPipeId ?? randomUUID,
    };
  }

  createPipe = (input: CreatePipeInput) => createPipe(this.ctx, input);
  getPipe = (pipeId: string) => getPipe(this.ctx, pipeId);
  listPipes = (options?: ListOptions) => listPipes(this.ctx, options);
  listPipesByState = (state: PipeState, options?: ListOptions) => listPipesByState(this.ctx, state, options);
  /** Its table claims go first, while the pipe still shows: a crash leaves a pipe to delete again. */
  deletePipe = async (pipeId: string) => {
    await releaseAllTableClaims(this.ctx, pipeId);
    await deletePipe(this.ctx, pipeId);
  };
  applyEvent = (pipeId: string, event: PipeEvent, options: ApplyEventOptions) =>
    applyEvent(this.ctx, pipeId, event, options);
  listHistory = (pipeId: string, options?: ListOptions) => listHistory(this.ctx, pipeId, options);
  recordError = (pipeId: string, error: { name: string; message: string }) =>
    recordError(this.ctx, pipeId, error);
  clearError = (pipeId: string) => clearError(this.ctx, pipeId);
  updateSettings = (pipeId: string, settings: unknown, expected: SettingsUpdateExpectation) =>
    updateSettings(this.ctx, pipeId, settings, expected);

  putTableMapping = (pipeId: string, mapping: TableMappingInput, state?: TableState) =>
    putTableMapping(this.ctx, pipeId, mapping, state);
  getTableMapping = (pipeId: string, tableKey: string) => getTableMapping(this.ctx, pipeId, tableKey);
  listTableMappings = (pipeId: string) => listTableMappings(this.ctx, pipeId);
  setTableState = (pipeId: string, tableKey: string, change: TableStateChange) =>
    setTableState(this.ctx, pipeId, tableKey, change);
  setTableEstimate = (pipeId: string, tableKey: string, documentsEstimated: number) =>
    setTableEstimate(this.ctx, pipeId, tableKey, documentsEstimated);
  refreshTableProgress = (pipeId: string, tableKey: string) =>
    refreshTableProgress(this.ctx, pipeId, tableKey);
  addTypeMismatches = (pipeId: string, tableKey: string, counts: Record<string, number>) =>
    addTypeMismatches(this.ctx, pipeId, tableKey, counts);

  savePartitionPlan = (pipeId: string, tableKey: string, plan: PartitionPlanEntry[]) =>
    savePartitionPlan(this.ctx, pipeId, tableKey, plan);
  listPartitions = (pipeId: string, tableKey: string) => listPartitions(this.ctx, pipeId, tableKey);
  deletePartitionPlan = (pipeId: string, tableKey: string) => deletePartitionPlan(this.ctx, pipeId, tableKey);
  checkpointPartition = (
    pipeId: string,
    tableKey: string,
    index: number,
    checkpoint: PartitionCheckpoint,
    fence: PlanFence,
  ) => checkpointPartition(this.ctx, pipeId, tableKey, index, checkpoint, fence);
  markPartitionDone = (pipeId: string, tableKey: string, index: number, fence: PlanFence) =>
    markPartitionDone(this.ctx, pipeId, tableKey, index, fence);
  recordPendingBatch = (
    pipeId: string,
    tableKey: string,
    index: number,
    pending: PendingBatch,
    fence: PlanFence,
  ) => recordPendingBatch(this.ctx, pipeId, tableKey, index, pending, fence);

  recordStartPoint = (pipeId: string, point: StartPointInput) => recordStartPoint(this.ctx, pipeId, point);
  getStartPoint = (pipeId: string) => getStartPoint(this.ctx, pipeId);
  commitResumePoint = (pipeId: string, point: ResumePointInput, fence: number) =>
    commitResumePoint(this.ctx, pipeId, point, fence);
  getResumePoint = (pipeId: string) => getResumePoint(this.ctx, pipeId);
  recordCdcRun = (pipeId: string, run: CdcRunRecord) => recordCdcRun(this.ctx, pipeId, run);
  getCdcRun = (pipeId: string) => getCdcRun(this.ctx, pipeId);
  recordCdcSample = (pipeId: string, sample: CdcSample) => recordCdcSample(this.ctx, pipeId, sample);
  listCdcSamples = (pipeId: string) => listCdcSamples(this.ctx, pipeId);

  acquireLease = (pipeId: string, name: string, holder: string, ttlMs: number) =>
    acquireLease(this.ctx, pipeId, name, holder, ttlMs);
  renewLease = (pipeId: string, name: string, holder: string, fence: number, ttlMs: number) =>
    renewLease(this.ctx, pipeId, name, holder, fence, ttlMs);
  releaseLease = (pipeId: string, name: string, holder: string, fence: number) =>
    releaseLease(this.ctx, pipeId, name, holder, fence);
  revokeLease = (pipeId: string, name: string, reason: string) => revokeLease(this.ctx, pipeId, name, reason);
  getLease = (pipeId: string, name: string) => getLease(this.ctx, pipeId, name);

  claimTable = (pipeId: string, table: TableRef) => claimTable(this.ctx, pipeId, table);
  getTableClaim = (table: TableRef) => getTableClaim(this.ctx, table);
  releaseTableClaim = (pipeId: string, table: TableRef) => releaseTableClaim(this.ctx, pipeId, table);
  listTableClaims = (pipeId: string) => listTableClaims(this.ctx, pipeId);
}
