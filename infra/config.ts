import type { Node } from 'constructs';
import { LOG_LEVELS, type LogLevel } from './pipe-function.js';
import { DEFAULT_SECRET_PREFIX, SECRET_PREFIX } from './pipes-props.js';

/**
 * Deployment settings, all from CDK context (`-c key=value` or cdk.json), all optional.
 * Nothing here triggers a context lookup: synth stays offline.
 */
export interface PipesConfig {
  /** Secrets a pipe may name: `arn:…:secret:<secretPrefix>/*`. */
  secretPrefix: string;
  /** RETAIN (default) keeps the pipe store when the stack is deleted. */
  retainData: boolean;
  logRetentionDays: number;
  /** CDC lag (milliseconds) above which the lag alarm fires. */
  lagAlarmMs: number;
  /**
   * Memory of the CDC function (MiB, 128–10240): it sets the function's CPU too. A continuous
   * pipe keeps one instance always running, so this is most of its cost (docs/cost.md).
   */
  cdcMemoryMiB: number;
  /** API Gateway stage throttling (requests per second, burst). */
  apiThrottling: { rateLimit: number; burstLimit: number };
  /** Hosts pipes may reach (empty: any): refused at create when named in the request, and before any connection. */
  allowedSourceHosts: string[];
  allowedDestinationHosts: string[];
  vpc?: VpcPlacement;
  /** The api's DEFAULT_DESTINATION: used when a create request names no destination. */
  defaultDestination?: string;
  /** Subscribed to the alarm topic. */
  alarmEmail?: string;
  /** The functions' log level (Powertools' and Lambda's application log level alike). */
  logLevel: LogLevel;
}

export interface VpcPlacement {
  vpcId: string;
  subnetIds: string[];
  securityGroupIds: string[];
  /** Optional: functions name their subnets explicitly, so the AZs are informational. */
  availabilityZones: string[];
}

function text(node: Node, key: string): string | undefined {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
    throw new Error(`context ${key} must be a string`);
  return String(value);
}

/** A comma-separated string (from `-c`) or a JSON array (from cdk.json). */
function list(node: Node, key: string): string[] {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return [];
  const items = Array.isArray(value) ? value : String(value).split(',');
  return items.map((item) => String(item).trim()).filter((item) => item.length > 0);
}

function positiveNumber(node: Node, key: string, fallback: number): number {
  const raw = text(node, key);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`context ${key} must be a positive number, not ${raw}`);
  return value;
}

/** Host names or `*.domain` patterns (comma list or JSON array). */
function hostList(node: Node, key: string): string[] {
  const hosts = list(node, key);
  for (const host of hosts)
    if (!/^(\*\.)?[A-Za-z0-9.-]+$/.test(host))
      throw new Error(`context ${key}: ${host} is not a host name or a *.domain pattern`);
  return hosts;
}

function lambdaMemory(node: Node, key: string, fallback: number): number {
  const value = positiveNumber(node, key, fallback);
  if (!Number.isInteger(value) || value < 128 || value > 10_240)
    throw new Error(`context ${key} must be a whole number of MiB from 128 to 10240, not ${value}`);
  return value;
}

export function readConfig(node: Node): PipesConfig {
  const secretPrefix = text(node, 'secretPrefix') ?? DEFAULT_SECRET_PREFIX;
  if (!SECRET_PREFIX.test(secretPrefix) || secretPrefix.includes('*'))
    throw new Error(
      `context secretPrefix must be a secret name prefix without wildcards, not ${secretPrefix}`,
    );
  const config: PipesConfig = {
    secretPrefix: secretPrefix.replace(/\/+$/, ''),
    retainData: text(node, 'retainData') !== 'false',
    logRetentionDays: positiveNumber(node, 'logRetentionDays', 30),
    lagAlarmMs: positiveNumber(node, 'lagAlarmMs', 10 * 60 * 1000),
    cdcMemoryMiB: lambdaMemory(node, 'cdcMemoryMiB', 2048),
    apiThrottling: {
      rateLimit: positiveNumber(node, 'apiRateLimit', 10),
      burstLimit: Math.round(positiveNumber(node, 'apiBurstLimit', 20)),
    },
    allowedSourceHosts: hostList(node, 'allowedSourceHosts'),
    allowedDestinationHosts: hostList(node, 'allowedDestinationHosts'),
    logLevel: logLevelOf(node),
  };
  const alarmEmail = text(node, 'alarmEmail');
  if (alarmEmail !== undefined) {
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail))
      throw new Error(`context alarmEmail is not an email address`);
    config.alarmEmail = alarmEmail;
  }
  const defaultDestination = destinationOf(node);
  if (defaultDestination !== undefined) config.defaultDestination = defaultDestination;
  const vpcId = text(node, 'vpcId');
  if (vpcId === undefined) return config;
  const subnetIds = list(node, 'subnetIds');
  const securityGroupIds = list(node, 'securityGroupIds');
  if (subnetIds.length === 0 || securityGroupIds.length === 0)
    throw new Error('context vpcId needs subnetIds and securityGroupIds too');
  const availabilityZones = list(node, 'availabilityZones');
  return {
    ...config,
    vpc: {
      vpcId,
      subnetIds,
      securityGroupIds,
      availabilityZones,
    },
  };
}

function logLevelOf(node: Node): LogLevel {
  const value = (text(node, 'logLevel') ?? 'INFO').toUpperCase();
  const level = LOG_LEVELS.find((known) => known === value);
  if (!level) throw new Error(`context logLevel must be one of ${LOG_LEVELS.join(', ')}, not ${value}`);
  return level;
}

/** A JSON object (url, database, secretArn) or a JSON string of one; never a password. */
function destinationOf(node: Node): string | undefined {
  const value: unknown = node.tryGetContext('defaultDestination');
  if (value === undefined || value === null || value === '') return undefined;
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new Error('context defaultDestination must be a JSON object');
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error('context defaultDestination must be a JSON object');
  if ('password' in parsed)
    throw new Error('context defaultDestination must not hold a password: use secretArn');
  return JSON.stringify(parsed);
}
