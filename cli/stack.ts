import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import type { Command } from 'commander';
import { CliError, type CliIo, EXIT } from './io.js';

/** The output of the pipes stack that holds the API's base URL (infra/pipes-stack.ts). */
export const API_URL_OUTPUT = 'ApiUrl';

/**
 * A CloudFormation client in `region` (else the SDK's own: AWS_REGION, then the profile's), with
 * the standard credential chain; AWS_ENDPOINT_URL_CLOUDFORMATION (or AWS_ENDPOINT_URL) points it
 * elsewhere, as every AWS SDK allows.
 */
export function cloudFormationClient(region: string | undefined, env: CliIo['env']): CloudFormationClient {
  const endpoint = env.AWS_ENDPOINT_URL_CLOUDFORMATION ?? env.AWS_ENDPOINT_URL;
  const found = region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  return new CloudFormationClient({
    ...(found === undefined ? {} : { region: found }),
    ...(endpoint === undefined ? {} : { endpoint }),
    credentials: fromNodeProviderChain(),
  });
}

/** The API's base URL from the stack's ApiUrl output (DescribeStacks). */
export async function apiUrlOfStack(client: CloudFormationClient, stack: string): Promise<string> {
  let outputs: { OutputKey?: string; OutputValue?: string }[];
  try {
    const answer = await client.send(new DescribeStacksCommand({ StackName: stack }));
    outputs = answer.Stacks?.[0]?.Outputs ?? [];
  } catch (error) {
    throw stackFailure(stack, error);
  }
  const url = outputs.find((output) => output.OutputKey === API_URL_OUTPUT)?.OutputValue;
  if (!url)
    throw new CliError(EXIT.notFound, [
      `stack ${stack} has no ${API_URL_OUTPUT} output: is it a pipes stack (infra/pipes-stack.ts)?`,
    ]);
  return url;
}

/** DescribeStacks' failures as exit codes: no such stack 3, no region 2, unreachable 5, the rest 1. */
function stackFailure(stack: string, error: unknown): CliError {
  const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
  if (name === 'ValidationError' && /does not exist/.test(message))
    return new CliError(EXIT.notFound, [`stack ${stack}: ${message}`]);
  if (/region is missing/i.test(message))
    return new CliError(EXIT.badInput, [
      `cannot tell the AWS region of stack ${stack}: pass --region or set AWS_REGION`,
    ]);
  const code =
    (error as { code?: unknown; cause?: { code?: unknown } }).code ??
    (error as { cause?: { code?: unknown } }).cause?.code;
  if (typeof code === 'string' && /^(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EAI_AGAIN)$/.test(code))
    return new CliError(EXIT.unavailable, [`cannot reach CloudFormation to read stack ${stack} (${code})`]);
  return new CliError(EXIT.other, [`cannot read stack ${stack}: ${name}: ${message}`]);
}

/**
 * `--stack <name>`, before any command runs: the API URL comes from the stack's output (so
 * `--api` must not be given too). `--region` is the stack's region and then the signing region.
 */
export function readApiFromStack(program: Command, io: CliIo): void {
  program.hook('preAction', async () => {
    const { stack, api, region } = program.opts<{ stack?: string; api?: string; region?: string }>();
    if (stack === undefined) return;
    if (api !== undefined)
      throw new CliError(EXIT.badInput, ['--stack and --api both name the API: give one of them']);
    program.setOptionValue('api', await apiUrlOfStack(cloudFormationClient(region, io.env), stack));
  });
}
