import { type CreatePipeRequest, parseCreatePipeRequest } from '../core/create-request.js';
import { type FieldError, InvalidSettingsError } from '../core/errors.js';
import type { PipeRecord, PipeStore } from '../ports/pipe-store.js';
import { namespaceKey } from './table-context.js';

/** What a deployment accepts in a create request beyond the request's own rules. */
export interface CreateRules {
  /** Locally true; in the cloud a password must never reach pipe state or execution input: secret ARNs only. */
  allowPlainSecrets: boolean;
  /** Used when a request names no destination (the embedded ClickHouse locally, a context setting in AWS). */
  defaultDestination: Record<string, unknown> | null;
}

export interface RegisterPipeInput {
  /** The body of `POST /pipes`, or a create machine's input: validated here. */
  request: unknown;
  rules: CreateRules;
  /** The same key twice registers one pipe (the API's Idempotency-Key, the create execution's name). */
  idempotencyKey?: string;
  actor: string;
  reason: string;
}

/**
 * A create request, checked by the one core parser and the deployment's rules, stored in
 * Provisioning with its table mappings. Idempotent: the store returns the pipe an identical
 * earlier request made (by idempotency key, or by name without one), and the mappings missing
 * after an interrupted attempt are written, never rewritten (a rewrite would reset a table's
 * state). Bad input is an InvalidSettingsError listing every field error, before anything is stored.
 */
export async function registerPipe(
  store: Pick<PipeStore, 'createPipe' | 'listTableMappings' | 'putTableMapping'>,
  input: RegisterPipeInput,
): Promise<{ pipe: PipeRecord; created: boolean }> {
  const parsed = parseCreatePipeRequest(input.request);
  refusePlainSecrets(parsed, input.rules);
  const destination = parsed.destination ?? input.rules.defaultDestination;
  if (!destination)
    throw new InvalidSettingsError([
      { path: 'destination', message: 'is required: this deployment has no default destination' },
    ]);
  const { pipe, created } = await store.createPipe({
    name: parsed.name,
    ...(input.idempotencyKey === undefined ? {} : { idempotencyKey: input.idempotencyKey }),
    settings: parsed.settings,
    source: parsed.source,
    destination,
    actor: input.actor,
    reason: input.reason,
  });
  const existing = new Set((await store.listTableMappings(pipe.id)).map((table) => table.tableKey));
  for (const { sourceDatabaseName, sourceCollection, targetTable } of parsed.settings.tableMappings) {
    if (existing.has(namespaceKey({ db: sourceDatabaseName, coll: sourceCollection }))) continue;
    await store.putTableMapping(pipe.id, { sourceDatabaseName, sourceCollection, targetTable });
  }
  return { pipe, created };
}

function refusePlainSecrets(request: CreatePipeRequest, rules: CreateRules): void {
  if (rules.allowPlainSecrets) return;
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
  if (errors.length > 0) throw new InvalidSettingsError(errors);
}
