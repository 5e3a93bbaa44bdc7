import { parseCreatePipeRequest } from '../core/create-request.js';
import { tableKeyOf } from '../core/table-key.js';
import type { PipeRecord, PipeStore } from '../ports/pipe-store.js';
import { type CreateRules, checkEndpoints } from './preflight-request.js';
import { refuseTablesOfOtherPipes } from './preflight-tables.js';

export { type CreateRules, SecretNotOwnedError } from './preflight-request.js';

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
  const endpoints = { ...parsed, tableMappings: parsed.settings.tableMappings };
  const { destination, targets } = await checkEndpoints(endpoints, input.rules, input.caller);
  await refuseTablesOfOtherPipes(store, targets, parsed.name);
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
  for (const mapping of parsed.settings.tableMappings) {
    if (existing.has(tableKeyOf(mapping))) continue;
    const { sourceDatabaseName, sourceCollection, targetTable } = mapping;
    await store.putTableMapping(pipe.id, { sourceDatabaseName, sourceCollection, targetTable });
  }
  return { pipe, created };
}
