import { parsePreflightRequest } from '../core/create-request.js';
import { PipeError } from '../core/errors.js';
import { sanitizeMessage } from '../core/redact.js';
import type { TableRef } from '../ports/destination.js';
import type { PreflightProbe, SourceFacts } from '../ports/preflight.js';
import { type PreflightCheck, type PreflightReport, verdictOf } from './preflight-check.js';
import { destinationChecks } from './preflight-destination.js';
import { type CreateRules, checkEndpoints } from './preflight-request.js';
import { sourceChecks } from './preflight-source.js';
import { type ClaimReader, tableOwnershipCheck } from './preflight-tables.js';

export type { PreflightCheck, PreflightReport } from './preflight-check.js';

export interface PreflightDeps {
  store: ClaimReader;
  probe: PreflightProbe;
  rules: CreateRules;
}

/**
 * `POST /preflight`: the checks a create would meet, without creating anything. The request is
 * held to the rules a create is (the same InvalidSettingsError and SecretNotOwnedError, before
 * any connection); then the source and the destination are read at once and judged by the
 * checks Provision and Setup apply, and the target tables by the claim rule the create applies.
 */
export async function runPreflight(
  deps: PreflightDeps,
  input: { request: unknown; caller: string | null },
): Promise<PreflightReport> {
  const request = parsePreflightRequest(input.request);
  const { destination, targets } = await checkEndpoints(request, deps.rules, input.caller, 'tableMappings');
  const namespaces = request.tableMappings.map((mapping) => ({
    db: mapping.sourceDatabaseName,
    coll: mapping.sourceCollection,
  }));
  const [source, sink] = await Promise.all([
    probed('source.connection', () => deps.probe.source(request.source, namespaces)),
    probed('destination.connection', () => deps.probe.destination(destination, targets)),
  ]);
  const checks: PreflightCheck[] = [
    ...('facts' in source ? [connected(source.facts), ...sourceChecks(source.facts)] : [source.check]),
    ...('facts' in sink ? destinationChecks(sink.facts) : [sink.check]),
    await tableOwnershipCheck(deps.store, targets, 'facts' in sink ? sink.facts.existingTables : null),
  ];
  return { verdict: verdictOf(checks), checks };
}

function connected(facts: SourceFacts): PreflightCheck {
  const product = facts.documentDb
    ? `Amazon DocumentDB (MongoDB ${facts.serverVersion} API)`
    : `MongoDB ${facts.serverVersion}`;
  return {
    id: 'source.connection',
    status: 'passed',
    message: `connected to ${facts.host}, ${product}`,
    advice: null,
  };
}

/** A probe that could not connect is a failed check naming why; anything but a named error is a bug. */
async function probed<T>(
  id: string,
  probe: () => Promise<T>,
): Promise<{ facts: T } | { check: PreflightCheck }> {
  try {
    return { facts: await probe() };
  } catch (err) {
    if (!(err instanceof PipeError)) throw err;
    const message = sanitizeMessage(`${err.name}: ${err.message}`);
    return { check: { id, status: 'failed', message, advice: adviceFor(id, err) } };
  }
}

function adviceFor(id: string, err: PipeError): string {
  const side = id.startsWith('source') ? 'source' : 'destination';
  if (/authenticat|password|login/i.test(err.message))
    return side === 'source'
      ? 'check the user and password of the connection string (or of the secret holding it)'
      : 'check the ClickHouse user and password (or the secret holding them)';
  if (err.name === 'HostNotAllowedError')
    return "add the host to the deployment's allowed hosts, or use a host it allows";
  if (err.name === 'MalformedSecretError' || err.name === 'MissingConnectionError')
    return 'fix the secret (or the request) as the message says';
  return side === 'source'
    ? 'check the hosts and port, that the server runs, and that this deployment can reach it (VPC, security groups, TLS)'
    : 'check the URL and port, that ClickHouse runs, and that this deployment can reach it (VPC, IP access list)';
}

/** Re-exported for the API's route: the target tables of a checked request. */
export type { TableRef };
