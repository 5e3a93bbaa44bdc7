import { type CreatePipeRequest, parseCreatePipeRequest } from '../core/create-request.js';
import { parseDestinationRecord } from '../core/destination-record.js';
import { FatalError, type FieldError, InvalidSettingsError } from '../core/errors.js';
import {
  type AllowedHosts,
  ANY_HOST,
  hasUserInfo,
  hostAllowed,
  mongoHostsOf,
  urlHostOf,
} from '../core/hosts.js';
import { isOwner } from '../core/principals.js';
import { qualifiedTableName, tableKeyOf } from '../core/table-key.js';
import type { PipeRecord, PipeStore } from '../ports/pipe-store.js';
import type { SecretOwners } from '../ports/secrets.js';
import { refuseTablesOwnedElsewhere } from './table-ownership.js';

/** What a deployment accepts in a create request beyond the request's own rules. */
export interface CreateRules {
  /** Locally true; in the cloud a password must never reach pipe state or execution input: secret ARNs only. */
  allowPlainSecrets: boolean;
  /** Used when a request names no destination (the embedded ClickHouse locally, a context setting in AWS). */
  defaultDestination: Record<string, unknown> | null;
  /** Hosts the deployment's pipes may reach; absent: any. */
  allowedHosts?: AllowedHosts;
  /** Reads the owner tag of a named secret; absent (locally): no owner check. */
  secretOwners?: SecretOwners;
}

export interface RegisterPipeInput {
  /** The body of `POST /pipes`, or a create machine's input: validated here. */
  request: unknown;
  rules: CreateRules;
  /** The same key twice registers one pipe (the API's Idempotency-Key, the create execution's name). */
  idempotencyKey?: string;
  actor: string;
  /**
   * The IAM principal that asked (API Gateway's caller ARN): it must be an owner of every secret
   * the request names. Null where no caller is known (the create machine started by hand: who may
   * start it is itself the permission, docs/security.md).
   */
  caller: string | null;
  reason: string;
}

/** The caller may not name a secret: its owner tag does not list them (the API answers 403). */
export class SecretNotOwnedError extends FatalError {
  constructor(readonly fieldErrors: readonly FieldError[]) {
    super(
      `secrets not usable by this caller: ${fieldErrors.map((error) => `${error.path}: ${error.message}`).join('; ')}`,
    );
  }
}

/**
 * A create request, checked by the one core parser and the deployment's rules, stored in
 * Provisioning with its table mappings. Idempotent: the store returns the pipe an identical
 * earlier request made (by idempotency key, or by name without one), and the mappings missing
 * after an interrupted attempt are written, never rewritten (a rewrite would reset a table's
 * state). Bad input is an InvalidSettingsError listing every field error, before anything is stored.
 */
export async function registerPipe(
  store: Pick<
    PipeStore,
    'createPipe' | 'listTableMappings' | 'putTableMapping' | 'getTableClaim' | 'getPipe'
  >,
  input: RegisterPipeInput,
): Promise<{ pipe: PipeRecord; created: boolean }> {
  const parsed = parseCreatePipeRequest(input.request);
  const destination = parsed.destination ?? input.rules.defaultDestination;
  /** Mappings that name no targetDatabase write to the destination's database. */
  const defaultDatabase = parseDestinationRecord(destination).database ?? '';
  const errors = [
    ...cloudRuleErrors(parsed, input.rules),
    ...(destination ? duplicateTargets(parsed, defaultDatabase) : []),
    ...hostErrors(parsed, input.rules.allowedHosts ?? ANY_HOST),
  ];
  if (!destination)
    errors.push({ path: 'destination', message: 'is required: this deployment has no default destination' });
  if (errors.length > 0) throw new InvalidSettingsError(errors);
  await checkSecretOwners(parsed, input);
  await refuseTablesOfOtherPipes(store, parsed, defaultDatabase);
  const { pipe, created } = await store.createPipe({
    name: parsed.name,
    ...(input.idempotencyKey === undefined ? {} : { idempotencyKey: input.idempotencyKey }),
    settings: parsed.settings,
    source: parsed.source,
    destination: destination as Record<string, unknown>,
    actor: input.actor,
    reason: input.reason,
  });
  const existing = new Set((await store.listTableMappings(pipe.id)).map((table) => table.tableKey));
  for (const mapping of parsed.settings.tableMappings) {
    if (existing.has(tableKeyOf(mapping))) continue;
    const { sourceDatabaseName, sourceCollection, targetTable } = mapping;
    await store.putTableMapping(pipe.id, { sourceDatabaseName, sourceCollection, targetTable });
  }
  return { pipe, created };
}

/**
 * A 409 before anything is stored when a target table belongs to another pipe (the Task that
 * creates the tables checks again, and also refuses tables that exist without an owner). A
 * claim of a pipe with this very name is a retry of this create: names are unique.
 */
async function refuseTablesOfOtherPipes(
  store: Pick<PipeStore, 'getTableClaim' | 'getPipe'>,
  request: CreatePipeRequest,
  defaultDatabase: string,
): Promise<void> {
  for (const mapping of request.settings.tableMappings) {
    const ref = { database: mapping.targetDatabase ?? defaultDatabase, table: mapping.targetTable };
    const claim = await store.getTableClaim(ref);
    if (!claim) continue;
    const owner = await store.getPipe(claim.pipeId).catch(() => null);
    if (owner?.name === request.name) continue;
    await refuseTablesOwnedElsewhere(store, null, [ref]);
  }
}

/** In the cloud: no connection string, no password, no credentials inside a URL. */
function cloudRuleErrors(request: CreatePipeRequest, rules: CreateRules): FieldError[] {
  if (rules.allowPlainSecrets) return [];
  const errors: FieldError[] = [];
  if ('uri' in request.source) {
    errors.push({
      path: 'source.uri',
      message:
        'this deployment does not accept connection strings: store it in Secrets Manager and send source.secretArn',
    });
  }
  if (request.destination && 'password' in request.destination) {
    errors.push({
      path: 'destination.password',
      message:
        'this deployment does not accept passwords: store the credentials in Secrets Manager and send destination.secretArn',
    });
  }
  if (request.destination && 'url' in request.destination && hasUserInfo(request.destination.url)) {
    errors.push({
      path: 'destination.url',
      message: 'must not carry a user name or password: store the credentials in Secrets Manager',
    });
  }
  return errors;
}

/** Two mappings onto one table once the destination's database fills in those that name none. */
function duplicateTargets(request: CreatePipeRequest, defaultDatabase: string): FieldError[] {
  const seen = new Map<string, number>();
  const errors: FieldError[] = [];
  request.settings.tableMappings.forEach((mapping, index) => {
    const target = qualifiedTableName({
      database: mapping.targetDatabase ?? defaultDatabase,
      table: mapping.targetTable,
    });
    const first = seen.get(target);
    if (first === undefined) seen.set(target, index);
    else
      errors.push({
        path: `settings.tableMappings[${index}].targetTable`,
        message: `table ${target} is already the target of tableMappings[${first}]: each table takes one collection`,
      });
  });
  return errors;
}

/** Hosts named in the request itself; hosts inside secrets are checked when the pipe connects. */
function hostErrors(request: CreatePipeRequest, allowed: AllowedHosts): FieldError[] {
  const errors: FieldError[] = [];
  if ('uri' in request.source) {
    for (const host of mongoHostsOf(request.source.uri))
      if (!hostAllowed(host, allowed.source))
        errors.push({
          path: 'source.uri',
          message: `host ${host} is not among this deployment's allowed source hosts`,
        });
  }
  if (request.destination && 'url' in request.destination) {
    const host = urlHostOf(request.destination.url);
    if (host !== null && !hostAllowed(host, allowed.destination))
      errors.push({
        path: 'destination.url',
        message: `host ${host} is not among this deployment's allowed destination hosts`,
      });
  }
  return errors;
}

/** The confused-deputy rule: the caller must be listed in the owner tag of every secret it names. */
async function checkSecretOwners(request: CreatePipeRequest, input: RegisterPipeInput): Promise<void> {
  const owners = input.rules.secretOwners;
  if (!owners || input.caller === null) return;
  const named: [string, string][] = [];
  if ('secretArn' in request.source) named.push(['source.secretArn', request.source.secretArn]);
  if (request.destination && 'secretArn' in request.destination)
    named.push(['destination.secretArn', request.destination.secretArn]);
  const errors: FieldError[] = [];
  for (const [path, arn] of named) {
    const tag = await owners.ownersOf(arn);
    if ('problem' in tag) errors.push({ path, message: `secret ${arn} ${tag.problem}` });
    else if (!isOwner(input.caller, tag.owners))
      errors.push({ path, message: `secret ${arn} does not list ${input.caller} among its owners` });
  }
  if (errors.length > 0) throw new SecretNotOwnedError(errors);
}
