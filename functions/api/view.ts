import { type CdcMode, cdcModeOf } from '../core/cdc-mode.js';
import { isAllowed, type PipeState } from '../core/lifecycle.js';
import { redactUri } from '../core/redact.js';
import type { PipeSettings } from '../core/settings.js';
import type {
  CdcRunRecord,
  HistoryEntry,
  LeaseRecord,
  PipeRecord,
  ResumePointRecord,
  TableMappingRecord,
} from '../ports/pipe-store.js';
import type { SourceHealth } from '../ports/source.js';
import type { HistoryEntryView } from './schemas/pages.js';
import type {
  ApiCommand,
  DestinationView,
  PipeSummaryView,
  PipeView,
  SourceView,
  TableView,
} from './schemas/pipe-view.js';

/**
 * What the API shows of a pipe. Secrets never leave: MongoDB URIs lose their user-info and
 * secret options, ClickHouse passwords are dropped (a Secrets Manager ARN is a name, not a
 * secret, and is shown). Times are ISO 8601 text.
 */

const iso = (epochMs: number): string => new Date(epochMs).toISOString();

/** The commands the pipe accepts right now, as the API spells them (delete is always accepted). */
export function allowedCommands(state: PipeState): ApiCommand[] {
  const commands: ApiCommand[] = [];
  for (const command of ['pause', 'resume', 'resync'] as const) {
    if (isAllowed(state, command)) commands.push(command);
  }
  if (isAllowed(state, 'addTables')) commands.push('addTables');
  if (isAllowed(state, 'removeTables')) commands.push('removeTables');
  commands.push('delete');
  return commands;
}

function record(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

export function redactSource(source: unknown): Omit<SourceView, 'health'> {
  const value = record(source) ?? {};
  if (typeof value.secretArn === 'string') return { secretArn: value.secretArn };
  if (typeof value.uri === 'string') return { uri: redactUri(value.uri) };
  return {};
}

function healthView(health: SourceHealth | null): SourceView['health'] {
  return health ? { ...health, checkedAt: iso(health.checkedAt) } : null;
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(unparsable URL)';
  }
}

const DESTINATION_FIELDS = ['database', 'username', 'secretArn', 'kind'] as const;

export function redactDestination(destination: unknown): DestinationView {
  const value = record(destination) ?? {};
  const shown: DestinationView = {};
  if (typeof value.url === 'string') shown.url = redactUrl(value.url);
  for (const field of DESTINATION_FIELDS) {
    const text = value[field];
    if (typeof text === 'string') shown[field] = text;
  }
  return shown;
}

export function pipeSummary(pipe: PipeRecord): PipeSummaryView {
  return {
    id: pipe.id,
    name: pipe.name,
    state: pipe.state,
    createdAt: iso(pipe.createdAt),
    updatedAt: iso(pipe.updatedAt),
    lastError: pipe.lastError
      ? { name: pipe.lastError.name, message: pipe.lastError.message, at: iso(pipe.lastError.at) }
      : null,
  };
}

export function tableView(table: TableMappingRecord): TableView {
  return {
    tableKey: table.tableKey,
    sourceDatabaseName: table.sourceDatabaseName,
    sourceCollection: table.sourceCollection,
    targetTable: table.targetTable,
    state: table.state,
    stopReason: table.stopReason,
    stopMessage: table.stopMessage,
    progress: { ...table.progress },
    typeMismatches: { ...(table.typeMismatches ?? {}) },
    updatedAt: iso(table.updatedAt),
  };
}

/** What the pipe status reads besides the pipe and its tables. */
export interface CdcFacts {
  resume: ResumePointRecord | null;
  run: CdcRunRecord | null;
  lease: LeaseRecord | null;
  /** Epoch ms the view is made at (is the lease live?). */
  now: number;
}

function runView(run: CdcRunRecord): NonNullable<PipeView['cdc']['lastRun']> {
  return {
    startedAt: iso(run.startedAt),
    endedAt: run.endedAt === null ? null : iso(run.endedAt),
    batches: run.batches,
    events: run.events,
    eventsPerSecond: run.eventsPerSecond,
    endedBecause: run.endedBecause,
    handedOver: run.handedOver,
  };
}

/** Where CDC stands: the lag its last commit measured, the last run, whether one runs now. */
function cdcView(mode: CdcMode, facts: CdcFacts): PipeView['cdc'] {
  const { resume, run, lease } = facts;
  return {
    mode,
    running: lease !== null && lease.expiresAt > facts.now,
    lagMs: resume?.lagMs ?? null,
    lagMeasuredAt: resume?.lagMs === undefined ? null : iso(resume.committedAt),
    lastCommittedAt: resume ? iso(resume.committedAt) : null,
    lastChangeAt: resume && resume.clusterTime.seconds > 0 ? iso(resume.clusterTime.seconds * 1000) : null,
    lastRun: run ? runView(run) : null,
  };
}

function syncIntervalOf(settings: unknown): number {
  const value = record(settings)?.syncIntervalSeconds;
  return typeof value === 'number' ? value : 60;
}

export function pipeView(pipe: PipeRecord, tables: TableMappingRecord[], facts: CdcFacts): PipeView {
  return {
    ...pipeSummary(pipe),
    version: pipe.version,
    // Stored settings were parsed (defaults filled) when the pipe was created or changed.
    settings: pipe.settings as PipeSettings,
    source: { ...redactSource(pipe.source), health: healthView(facts.run?.source ?? null) },
    destination: redactDestination(pipe.destination),
    tables: tables.filter((table) => table.state !== 'Removed').map(tableView),
    cdc: cdcView(cdcModeOf(syncIntervalOf(pipe.settings)), facts),
    allowedCommands: allowedCommands(pipe.state),
  };
}

export function historyView(entry: HistoryEntry): HistoryEntryView {
  return {
    version: entry.version,
    from: entry.from,
    to: entry.to,
    event: entry.event,
    reason: entry.reason,
    actor: entry.actor,
    at: iso(entry.at),
  };
}
