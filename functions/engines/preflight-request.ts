import type { CreatePipeRequest } from '../core/create-request.js';
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
import type { TableMapping } from '../core/settings.js';
import { qualifiedTableName } from '../core/table-key.js';
import type { TableRef } from '../ports/destination.js';
import type { SecretOwners } from '../ports/secrets.js';

/**
 * The deployment's rules on where a pipe may read and write, applied the same way to a create
 * (`POST /pipes`, the create machine's RegisterPipe Task) and to a pre-flight (`POST /preflight`):
 * bad input is an InvalidSettingsError (400) listing every field error, a secret the caller does
 * not own a SecretNotOwnedError (403), both before any connection is opened.
 */

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

/** The caller may not name a secret: its owner tag does not list them (the API answers 403). */
export class SecretNotOwnedError extends FatalError {
  constructor(readonly fieldErrors: readonly FieldError[]) {
    super(
      `secrets not usable by this caller: ${fieldErrors.map((error) => `${error.path}: ${error.message}`).join('; ')}`,
    );
  }
}

/** Where a pipe reads and writes, as a create request (or a pre-flight) names it, parsed. */
export interface PipeEndpoints {
  source: CreatePipeRequest['source'];
  destination?: CreatePipeRequest['destination'];
  tableMappings: readonly TableMapping[];
}

export interface CheckedEndpoints {
  /** The request's destination, or the deployment's default. */
  destination: Record<string, unknown>;
  /** Mappings that name no targetDatabase write to the destination's database. */
  defaultDatabase: string;
  /** Every target table, its database filled in. */
  targets: TableRef[];
}

/**
 * Applies the deployment's rules to where the request reads and writes. `caller` is the IAM
 * principal that asked, who must own every secret named (null where no caller is known: the
 * create machine started by hand, whose right to start it is the check).
 */
export async function checkEndpoints(
  request: PipeEndpoints,
  rules: CreateRules,
  caller: string | null,
  /** Where the mappings sit in the request, for field errors. */
  mappingsPath = 'settings.tableMappings',
): Promise<CheckedEndpoints> {
  const destination = request.destination ?? rules.defaultDestination;
  const defaultDatabase = parseDestinationRecord(destination).database ?? '';
  const errors = [
    ...cloudRuleErrors(request, rules),
    ...(destination ? duplicateTargets(request, defaultDatabase, mappingsPath) : []),
    ...hostErrors(request, rules.allowedHosts ?? ANY_HOST),
  ];
  if (!destination)
    errors.push({ path: 'destination', message: 'is required: this deployment has no default destination' });
  if (errors.length > 0 || !destination) throw new InvalidSettingsError(errors);
  await checkSecretOwners(request, rules, caller);
  const targets = request.tableMappings.map((mapping) => ({
    database: mapping.targetDatabase ?? defaultDatabase,
    table: mapping.targetTable,
  }));
  return { destination, defaultDatabase, targets };
}

/** In the cloud: no connection string, no password, no credentials inside a URL. */
function cloudRuleErrors(request: PipeEndpoints, rules: CreateRules): FieldError[] {
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
function duplicateTargets(
  request: PipeEndpoints,
  defaultDatabase: string,
  mappingsPath: string,
): FieldError[] {
  const seen = new Map<string, number>();
  const errors: FieldError[] = [];
  request.tableMappings.forEach((mapping, index) => {
    const target = qualifiedTableName({
      database: mapping.targetDatabase ?? defaultDatabase,
      table: mapping.targetTable,
    });
    const first = seen.get(target);
    if (first === undefined) seen.set(target, index);
    else
      errors.push({
        path: `${mappingsPath}[${index}].targetTable`,
        message: `table ${target} is already the target of tableMappings[${first}]: each table takes one collection`,
      });
  });
  return errors;
}

/** Hosts named in the request itself; hosts inside secrets are checked when the pipe connects. */
function hostErrors(request: PipeEndpoints, allowed: AllowedHosts): FieldError[] {
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
async function checkSecretOwners(
  request: PipeEndpoints,
  rules: CreateRules,
  caller: string | null,
): Promise<void> {
  const owners = rules.secretOwners;
  if (!owners || caller === null) return;
  const named: [string, string][] = [];
  if ('secretArn' in request.source) named.push(['source.secretArn', request.source.secretArn]);
  if (request.destination && 'secretArn' in request.destination)
    named.push(['destination.secretArn', request.destination.secretArn]);
  const errors: FieldError[] = [];
  for (const [path, arn] of named) {
    const tag = await owners.ownersOf(arn);
    if ('problem' in tag) errors.push({ path, message: `secret ${arn} ${tag.problem}` });
    else if (!isOwner(caller, tag.owners))
      errors.push({ path, message: `secret ${arn} does not list ${caller} among its owners` });
  }
  if (errors.length > 0) throw new SecretNotOwnedError(errors);
}
