import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { defineCheck } from './check.js';
import { ApiClient, needsSigning, parseApiUrl, signingRegion } from './client.js';
import * as commands from './commands.js';
import { ANSI, PLAIN } from './format.js';
import { CliError, type CliIo, EXIT } from './io.js';
import { readApiFromStack } from './stack.js';
import { DEFAULT_UI_PORT, startUiServer, untilInterrupted } from './ui.js';
import { watch } from './watch.js';

export const DEFAULT_API = 'http://127.0.0.1:3000';

interface GlobalOptions {
  api?: string;
  output: 'text' | 'json';
  region?: string;
  /** Sign even a loopback API: a tunnel or port-forward to a deployed one. */
  sign?: boolean;
}

/** Builds the client for `--api` (or PIPES_API): signed with SigV4 unless the API is on this machine. */
export function clientFor(options: GlobalOptions, io: CliIo): ApiClient {
  const api = options.api ?? io.env.PIPES_API ?? DEFAULT_API;
  const url = parseApiUrl(api);
  if (!needsSigning(url) && !options.sign) return new ApiClient({ api });
  const region = signingRegion(url, options.region, io.env);
  return new ApiClient({ api, signing: { region, credentials: fromNodeProviderChain() } });
}

const positiveNumber = (value: string) => {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('must be a positive number');
  return number;
};

const portNumber = (value: string) => {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65_535) {
    throw new InvalidArgumentError('must be a port number, 0 to 65535 (0: any free port)');
  }
  return number;
};

const collect = (value: string, previous: string[] = []) => [...previous, value];

type Run = (client: ApiClient, options: GlobalOptions) => Promise<commands.CommandResult | null>;

/** Each action runs through here: the client from the global options, then JSON or text out. */
function runner(io: CliIo, program: Command) {
  return (run: Run) => async () => {
    const options = program.opts<GlobalOptions>();
    const result = await run(clientFor(options, io), options);
    if (result === null) return;
    io.stdout(options.output === 'json' ? `${JSON.stringify(result.data, null, 2)}\n` : `${result.text}\n`);
  };
}

function defineReads(program: Command, io: CliIo) {
  const action = runner(io, program);
  program
    .command('ls')
    .description('list pipes, oldest first')
    .option('--state <state>', 'only pipes in this state')
    .action((opts) => action((client) => commands.ls(client, opts.state))());
  program
    .command('get <pipe>')
    .description('show a pipe (by id or name): state, tables with progress, CDC, last error')
    .action((pipe) => action((client) => commands.get(client, pipe))());
  program
    .command('history <pipe>')
    .description("a pipe's state changes, newest first")
    .option('--limit <n>', 'entries to show', positiveNumber, 50)
    .action((pipe, opts) => action((client) => commands.history(client, pipe, opts.limit))());
  program
    .command('watch <pipe>')
    .description('live view refreshed every 2 s: progress bars, CDC lag and events/s, members, last error')
    .option('--once', 'print one frame and exit')
    .option('--for <seconds>', 'stop after this many seconds', positiveNumber)
    .action((pipe, opts) =>
      action(async (client, global) => {
        const style = io.isTty && global.output !== 'json' ? ANSI : PLAIN;
        const json = global.output === 'json';
        await watch(client, io, pipe, { once: !!opts.once, forSeconds: opts.for ?? null, json, style });
        return null;
      })(),
    );
}

function defineCommands(program: Command, io: CliIo) {
  const action = runner(io, program);
  const key = '--idempotency-key <key>';
  const keyHelp = 'sent as Idempotency-Key: a retry with the same key starts nothing new';
  program
    .command('create')
    .description('create a pipe from a create request (docs/api.md, docs/settings.md)')
    .requiredOption('-f, --file <path>', 'the create request, JSON')
    .option(key, keyHelp)
    .action((opts) => action((client) => commands.create(client, opts.file, opts.idempotencyKey))());
  for (const command of ['pause', 'resume'] as const) {
    program
      .command(`${command} <pipe>`)
      .description(`${command} a pipe`)
      .option(key, keyHelp)
      .action((pipe, opts) =>
        action((client) =>
          commands.stateCommand(client, pipe, command, { idempotencyKey: opts.idempotencyKey }),
        )(),
      );
  }
  program
    .command('resync <pipe>')
    .description('reload every table of the pipe, or only those named with --table')
    .option('--table <db.coll>', 'a table to resync (repeat for more)', collect)
    .option(key, keyHelp)
    .action((pipe, opts) =>
      action((client) =>
        commands.stateCommand(client, pipe, 'resync', {
          tables: opts.table,
          idempotencyKey: opts.idempotencyKey,
        }),
      )(),
    );
  program
    .command('add-tables <pipe>')
    .description('add table mappings: a JSON list, or {"tableMappingsToAdd": [...]}')
    .requiredOption('-f, --file <path>', 'the mappings, JSON')
    .option(key, keyHelp)
    .action((pipe, opts) =>
      action((client) => commands.addTables(client, pipe, opts.file, opts.idempotencyKey))(),
    );
  program
    .command('remove-tables <pipe> <tables...>')
    .description('stop replicating tables named <database>.<collection>')
    .option('--drop', 'also drop the ClickHouse tables (kept by default)')
    .option(key, keyHelp)
    .action((pipe, tables, opts) => action((client) => commands.removeTables(client, pipe, tables, opts))());
  program
    .command('rm <pipe>')
    .description('delete a pipe (accepted in every state)')
    .option(key, keyHelp)
    .action((pipe, opts) => action((client) => commands.rm(client, pipe, opts.idempotencyKey))());
}

function defineUi(program: Command, io: CliIo) {
  program
    .command('ui')
    .description(
      'serve the status page on 127.0.0.1 and forward its reads to the API (signed unless loopback)',
    )
    .option('--port <n>', `the local port (0: any free one)`, portNumber, DEFAULT_UI_PORT)
    .action(async (opts) => {
      const client = clientFor(program.opts<GlobalOptions>(), io);
      const server = await startUiServer({ client, port: opts.port });
      io.stdout(`status page: ${server.url} (reading ${client.baseUrl}; Ctrl-C stops)\n`);
      await untilInterrupted();
      await server.stop();
    });
}

export function buildProgram(io: CliIo): Command {
  const program = new Command('pipes')
    .description('Drive MongoDB → ClickHouse pipes through their HTTP API (docs/cli.md)')
    .option(
      '--api <url>',
      `the API (default $PIPES_API, else ${DEFAULT_API}); signed with SigV4 unless loopback`,
    )
    .addOption(new Option('-o, --output <format>', 'text or json').choices(['text', 'json']).default('text'))
    .option('--region <region>', 'the SigV4 signing region (default: from the API host, else AWS_REGION)')
    .option('--sign', 'sign with SigV4 even when the API is on this machine (a tunnel to a deployed API)')
    .option(
      '--stack <name>',
      "the API's URL from this CloudFormation stack's ApiUrl output (instead of --api)",
    )
    .showHelpAfterError("(run 'pipes --help' or 'pipes help <command>' for usage)")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  readApiFromStack(program, io);
  defineReads(program, io);
  defineCommands(program, io);
  defineCheck(program, io, () => clientFor(program.opts<GlobalOptions>(), io));
  defineUi(program, io);
  return program;
}

/** Runs `pipes` with `argv` (the arguments after the program name) and answers the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    }
    if (error instanceof CliError) {
      const json = program.opts<GlobalOptions>().output === 'json';
      if (json && error.body !== null) io.stdout(`${JSON.stringify(error.body, null, 2)}\n`);
      for (const line of error.lines) io.stderr(`${line}\n`);
      return error.exitCode;
    }
    io.stderr(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT.other;
  }
}
