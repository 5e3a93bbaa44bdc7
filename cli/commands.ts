import { readFile } from 'node:fs/promises';
import type { ApiClient, Json } from './client.js';
import { count, table } from './format.js';
import { CliError, EXIT } from './io.js';

/** What a command answers: the API's JSON (for `--output json`) and the text a person reads. */
export interface CommandResult {
  data: Json;
  text: string;
}

const PAGE = 100;
const MAX_PAGES = 100;

/** Every pipe, following `nextToken` (bounded). */
export async function listAll(client: ApiClient, state?: string): Promise<Json[]> {
  const pipes: Json[] = [];
  let token: string | null = null;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (state) query.set('state', state);
    if (token) query.set('nextToken', token);
    const answer = await client.call('GET', `/pipes?${query}`);
    pipes.push(...answer.pipes);
    token = answer.nextToken;
    if (!token) break;
  }
  return pipes;
}

/** A pipe named by its id or its name: a name is looked up in the list; anything else is sent as an id. */
export async function resolvePipeId(client: ApiClient, idOrName: string): Promise<string> {
  const pipes = await listAll(client);
  if (pipes.some((pipe) => pipe.id === idOrName)) return idOrName;
  const named = pipes.filter((pipe) => pipe.name === idOrName);
  return named.length === 1 ? named[0].id : idOrName;
}

const pipePath = (id: string) => `/pipes/${encodeURIComponent(id)}`;

export async function ls(client: ApiClient, state?: string): Promise<CommandResult> {
  const pipes = await listAll(client, state);
  const rows = pipes.map((pipe) => [
    pipe.id,
    pipe.name,
    pipe.state,
    pipe.updatedAt,
    pipe.lastError ? pipe.lastError.name : '',
  ]);
  const text =
    pipes.length === 0 ? 'no pipes' : table(['ID', 'NAME', 'STATE', 'UPDATED', 'LAST ERROR'], rows);
  return { data: { pipes }, text };
}

export function describePipe(pipe: Json): string {
  const lines = [
    `${pipe.name}  ${pipe.id}`,
    `state       ${pipe.state} (version ${pipe.version})`,
    `mode        ${pipe.settings?.replicationMode ?? '?'}, CDC ${pipe.cdc?.mode ?? '?'}`,
    `source      ${pipe.source?.uri ?? pipe.source?.secretArn ?? '?'}`,
    `destination ${[pipe.destination?.url, pipe.destination?.database].filter(Boolean).join(' / ') || '?'}`,
    `commands    ${(pipe.allowedCommands ?? []).join(', ')}`,
    `last error  ${pipe.lastError ? `${pipe.lastError.name}: ${pipe.lastError.message}` : 'none'}`,
  ];
  const tables = (pipe.tables ?? []).map((t: Json) => [
    t.tableKey,
    t.targetTable,
    t.state,
    `${count(t.progress.documentsCopied)} / ${count(t.progress.documentsEstimated)}`,
    `${t.progress.partitionsDone} / ${t.progress.partitionsTotal}`,
  ]);
  if (tables.length > 0) {
    lines.push('', table(['TABLE', 'TARGET', 'STATE', 'DOCUMENTS', 'PARTITIONS'], tables));
  }
  return lines.join('\n');
}

export async function get(client: ApiClient, idOrName: string): Promise<CommandResult> {
  const pipe = await client.call('GET', pipePath(await resolvePipeId(client, idOrName)));
  return { data: pipe, text: describePipe(pipe) };
}

/** A JSON file's contents, or bad input (exit 2) naming the file and what is wrong with it. */
export async function readJsonFile(path: string): Promise<Json> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError(EXIT.badInput, [`cannot read ${path}: ${(error as Error).message}`]);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(EXIT.badInput, [`${path} is not JSON: ${(error as Error).message}`]);
  }
}

const accepted = (answer: Json, what: string): CommandResult => ({
  data: answer,
  text: `${what}: ${answer.name} (${answer.id}) is ${answer.state}; ${answer.operation} started`,
});

export async function create(client: ApiClient, file: string, idempotencyKey?: string) {
  const body = await readJsonFile(file);
  return accepted(await client.call('POST', '/pipes', { body, idempotencyKey }), 'created');
}

export async function stateCommand(
  client: ApiClient,
  idOrName: string,
  command: 'pause' | 'resume' | 'resync',
  options: { tables?: string[]; idempotencyKey?: string } = {},
): Promise<CommandResult> {
  const id = await resolvePipeId(client, idOrName);
  const body = options.tables?.length ? { command, tables: options.tables } : { command };
  const answer = await client.call('PATCH', `${pipePath(id)}/state`, {
    body,
    idempotencyKey: options.idempotencyKey,
  });
  return accepted(answer, command);
}

/** A mappings file: a list of table mappings, or `{"tableMappingsToAdd": [...]}` as the API takes it. */
export async function addTables(client: ApiClient, idOrName: string, file: string, idempotencyKey?: string) {
  const content = await readJsonFile(file);
  const mappings = Array.isArray(content) ? content : content?.tableMappingsToAdd;
  if (!Array.isArray(mappings)) {
    throw new CliError(EXIT.badInput, [
      `${file} must hold a list of table mappings or {"tableMappingsToAdd": [...]}`,
    ]);
  }
  const id = await resolvePipeId(client, idOrName);
  const body = { tableMappingsToAdd: mappings };
  return accepted(await client.call('PATCH', pipePath(id), { body, idempotencyKey }), 'add-tables');
}

/** `db.coll`: the database is before the first dot, the collection (which may hold dots) after it. */
export function collectionRef(tableKey: string) {
  const dot = tableKey.indexOf('.');
  if (dot <= 0 || dot === tableKey.length - 1) {
    throw new CliError(EXIT.badInput, [`${tableKey}: name a table as <database>.<collection>`]);
  }
  return { sourceDatabaseName: tableKey.slice(0, dot), sourceCollection: tableKey.slice(dot + 1) };
}

export async function removeTables(
  client: ApiClient,
  idOrName: string,
  tables: string[],
  options: { drop?: boolean; idempotencyKey?: string },
) {
  const refs = tables.map(collectionRef);
  const id = await resolvePipeId(client, idOrName);
  const body = { tableMappingsToRemove: refs, ...(options.drop ? { dropTables: true } : {}) };
  const answer = await client.call('PATCH', pipePath(id), { body, idempotencyKey: options.idempotencyKey });
  return accepted(answer, 'remove-tables');
}

export async function rm(client: ApiClient, idOrName: string, idempotencyKey?: string) {
  const id = await resolvePipeId(client, idOrName);
  return accepted(await client.call('DELETE', pipePath(id), { idempotencyKey }), 'rm');
}

export async function history(client: ApiClient, idOrName: string, limit: number): Promise<CommandResult> {
  const id = await resolvePipeId(client, idOrName);
  const answer = await client.call('GET', `${pipePath(id)}/history?limit=${limit}`);
  const rows = answer.history.map((entry: Json) => [
    String(entry.version),
    entry.at,
    `${entry.from ?? '-'} → ${entry.to}`,
    entry.event,
    entry.actor,
    entry.reason,
  ]);
  const text =
    rows.length === 0 ? 'no history' : table(['VERSION', 'AT', 'CHANGE', 'EVENT', 'ACTOR', 'REASON'], rows);
  return { data: answer, text };
}
