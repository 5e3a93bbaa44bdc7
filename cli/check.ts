import type { Command } from 'commander';
import type { ApiClient, Json } from './client.js';
import { readJsonFile } from './commands.js';
import { CliError, type CliIo, EXIT } from './io.js';

/** The mark of each status, as `pipes check` prints it. */
const MARKS: Record<string, string> = { passed: '✓', warned: '!', failed: '✗' };

/**
 * The body of `POST /preflight` from a create file (docs/api.md): its source, destination and
 * tableMappings. A file that already has that shape (tableMappings at the top) is sent as it is.
 */
export function preflightBody(request: Json): Json {
  if (request === null || typeof request !== 'object' || Array.isArray(request))
    throw new CliError(EXIT.badInput, ['the file must hold a create request (a JSON object)']);
  const tableMappings = request.tableMappings ?? request.settings?.tableMappings;
  return {
    source: request.source,
    ...(request.destination === undefined ? {} : { destination: request.destination }),
    tableMappings,
  };
}

/** One line per check (mark, id, message), its advice indented below, then the verdict. */
export function describeReport(report: Json): string {
  const lines: string[] = [];
  for (const check of report.checks ?? []) {
    lines.push(`${MARKS[check.status] ?? '?'} ${check.id}  ${check.message}`);
    if (check.advice) lines.push(`    → ${check.advice}`);
  }
  const failed = (report.checks ?? []).filter((check: Json) => check.status === 'failed').length;
  const warned = (report.checks ?? []).filter((check: Json) => check.status === 'warned').length;
  lines.push('', `verdict: ${report.verdict} (${failed} failed, ${warned} warned)`);
  return lines.join('\n');
}

/**
 * `pipes check -f pipe.json`: the pre-flight report, printed (text or JSON) whatever it says;
 * a failed check makes the exit code 4 (refused: a create would be refused too), after the report.
 */
export async function check(client: ApiClient, io: CliIo, file: string, json: boolean): Promise<void> {
  const body = preflightBody(await readJsonFile(file));
  const report = await client.call('POST', '/preflight', { body });
  io.stdout(json ? `${JSON.stringify(report, null, 2)}\n` : `${describeReport(report)}\n`);
  if (report.verdict === 'failed')
    throw new CliError(EXIT.refused, [
      'pre-flight failed: a create with this request would fail (see ✗ above)',
    ]);
}

/** `pipes check -f pipe.json`; `clientOf` builds the client from the global options, as other commands do. */
export function defineCheck(program: Command, io: CliIo, clientOf: () => ApiClient): void {
  program
    .command('check')
    .description(
      "run a create request's pre-flight checks (POST /preflight), creating nothing; exit 4 if one fails",
    )
    .requiredOption(
      '-f, --file <path>',
      'the create request, JSON (its source, destination and tableMappings are sent)',
    )
    .action(async (opts) => {
      const json = program.opts<{ output: string }>().output === 'json';
      await check(clientOf(), io, opts.file, json);
    });
}
