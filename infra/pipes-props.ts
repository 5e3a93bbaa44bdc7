import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { FunctionFamily } from './function-roles.js';
import { CONNECTING, type FunctionSize, HEAVY, type LogLevel, SMALL } from './pipe-function.js';

/** Where the functions run when they must reach private MongoDB or ClickHouse endpoints. */
export interface PipesVpcPlacement {
  /** An existing VPC (`Vpc.fromLookup`, `Vpc.fromVpcAttributes`, or one your app creates). */
  readonly vpc: IVpc;
  /** @default the VPC's private subnets (CDK's choice for Lambda) */
  readonly subnets?: SubnetSelection;
  /** @default one security group for all the functions, outbound traffic only, created here */
  readonly securityGroups?: ISecurityGroup[];
}

/** The ClickHouse a create request without a `destination` writes to; the secret holds url and credentials. */
export interface PipesDefaultDestination {
  readonly database: string;
  readonly secretArn: string;
}

/** Host names or `*.domain` patterns the pipes may reach (docs/security.md); empty or absent: any. */
export interface PipesAllowedHosts {
  readonly source?: string[];
  readonly destination?: string[];
}

/** Memory and timeout per family (infra/function-roles.ts); a family left out keeps its default. */
export type PipesFunctionSizes = Partial<Record<FunctionFamily, Partial<FunctionSize>>>;

export interface MongoClickHousePipesProps {
  /** @default none: the functions run outside any VPC (public endpoints only) */
  readonly vpc?: PipesVpcPlacement;
  /** @default none: every create request names its destination */
  readonly defaultDestination?: PipesDefaultDestination;
  /**
   * The functions may read secrets named `<secretPrefix>/…` only (IAM resource
   * `arn:…:secret:<secretPrefix>/*`); no wildcards.
   * @default 'mongo-clickhouse-pipes'
   */
  readonly secretPrefix?: string;
  /** @default any host */
  readonly allowedHosts?: PipesAllowedHosts;
  /** Subscribed (email) to the alarm topic. @default no subscription */
  readonly alarmEmail?: string;
  /**
   * @default api and shortTasks 512 MiB / 30 s, longTasks 1024 MiB / 2 min, snapshotChunk and
   * cdcBatch 2048 MiB / 15 min
   */
  readonly functionSizes?: PipesFunctionSizes;
  /** Of every log group (functions, machines, API access logs). @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Powertools' and Lambda's application log level alike. @default 'INFO' */
  readonly logLevel?: LogLevel;
  /** Keep the pipe store (RETAIN, deletion protection) when the construct is removed. @default true */
  readonly retainData?: boolean;
  /** CDC lag (milliseconds) above which the lag alarm fires. @default 600000 (10 minutes) */
  readonly lagAlarmMs?: number;
  /** API Gateway stage throttling. @default 10 requests per second, burst 20 */
  readonly apiThrottling?: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * Prefix of the fixed names (`<prefix>-cdc-batch`, `<prefix>-<operation>` machines,
   * `<prefix>-cdc` schedule group): unique per account and region.
   * @default the stack's name
   */
  readonly namePrefix?: string;
}

export const DEFAULT_SECRET_PREFIX = 'mongo-clickhouse-pipes';
/** A Secrets Manager name prefix: the characters a secret name may hold (a `*` is refused apart). */
export const SECRET_PREFIX = /^[A-Za-z0-9/_+=.@-]{1,200}$/;

const DEFAULT_SIZES: Record<FunctionFamily, FunctionSize> = {
  api: SMALL,
  shortTasks: SMALL,
  longTasks: CONNECTING,
  snapshotChunk: HEAVY,
  cdcBatch: HEAVY,
};

/** `<prefix>-cdc-batch` must fit Lambda's 64 characters. */
const MAX_NAME_PREFIX = 64 - '-cdc-batch'.length;

/** The prefix without trailing slashes; a wildcard would widen the IAM grant, so it is refused. */
export function checkedSecretPrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  if (!SECRET_PREFIX.test(trimmed) || trimmed.includes('*'))
    throw new Error(`secretPrefix must be a secret name prefix without wildcards, not ${prefix}`);
  return trimmed;
}

/** A prefix the function, machine and schedule group names all accept (a token passes unchecked). */
export function checkedNamePrefix(prefix: string, isToken: boolean): string {
  if (isToken) return prefix;
  if (!/^[A-Za-z0-9_-]+$/.test(prefix))
    throw new Error(`namePrefix may hold letters, digits, - and _ only, not ${prefix}`);
  if (prefix.length > MAX_NAME_PREFIX)
    throw new Error(`namePrefix ${prefix} is longer than ${MAX_NAME_PREFIX} characters`);
  return prefix;
}

/** The defaults, with each family's memory or timeout replaced where given; Lambda's limits checked. */
export function sizesOf(overrides: PipesFunctionSizes): Record<FunctionFamily, FunctionSize> {
  const sizes = { ...DEFAULT_SIZES };
  for (const family of Object.keys(DEFAULT_SIZES) as FunctionFamily[]) {
    const size = { ...DEFAULT_SIZES[family], ...overrides[family] };
    const { memoryMiB, timeout } = size;
    if (!Number.isInteger(memoryMiB) || memoryMiB < 128 || memoryMiB > 10_240)
      throw new Error(`functionSizes.${family}.memoryMiB must be a whole number from 128 to 10240`);
    if (timeout.toSeconds() < 1 || timeout.toSeconds() > 900)
      throw new Error(`functionSizes.${family}.timeout must be from 1 second to 15 minutes`);
    sizes[family] = size;
  }
  return sizes;
}

/** The api's DEFAULT_DESTINATION (functions/handlers/create-rules.ts): never a password. */
export function defaultDestinationEnv(
  destination: PipesDefaultDestination | undefined,
): Record<string, string> {
  if (!destination) return {};
  if ('password' in destination)
    throw new Error('defaultDestination must not hold a password: name a secret (secretArn)');
  return { DEFAULT_DESTINATION: JSON.stringify(destination) };
}

/** The allowlists the create rules and the connections read (functions/handlers/create-rules.ts). */
export function allowedHostsEnv(hosts: PipesAllowedHosts | undefined): Record<string, string> {
  const source = hosts?.source ?? [];
  const destination = hosts?.destination ?? [];
  return {
    ...(source.length > 0 ? { ALLOWED_SOURCE_HOSTS: source.join(',') } : {}),
    ...(destination.length > 0 ? { ALLOWED_DESTINATION_HOSTS: destination.join(',') } : {}),
  };
}
