/** `runOnRequirements` evaluation against what the deployment under test reports about itself. */
import { isDocument } from './bson-types.js';
import { UnsupportedFeature } from './errors.js';
import { matchValue } from './matcher.js';

export type TopologyName = 'single' | 'replicaset' | 'sharded' | 'sharded-replicaset' | 'load-balanced';

/** Facts about the deployment, gathered once per run with the internal client. */
export interface ServerFacts {
  version: string;
  topology: TopologyName;
  serverless: boolean;
  auth: boolean;
  csfle: boolean;
  /** Reads one server parameter (`getParameter`); undefined when the server does not know it. */
  serverParameter(name: string): Promise<unknown>;
}

export type RequirementVerdict = { applies: true } | { applies: false; reason: string };

const knownKeys = new Set([
  'minServerVersion',
  'maxServerVersion',
  'topologies',
  'serverless',
  'serverParameters',
  'auth',
  'authMechanism',
  'csfle',
]);

function versionParts(version: string): number[] {
  const parts = version
    .split('-')[0]!
    .split('.')
    .map((part) => Number.parseInt(part, 10));
  if (parts.some((part) => Number.isNaN(part))) throw new Error(`not a version string: ${version}`);
  while (parts.length < 3) parts.push(0);
  return parts;
}

/** Negative when a < b, zero when equal, positive when a > b (missing components count as 0). */
export function compareVersions(a: string, b: string): number {
  const left = versionParts(a);
  const right = versionParts(b);
  for (let index = 0; index < Math.max(left.length, right.length); index++) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

async function checkOne(requirement: Record<string, unknown>, facts: ServerFacts): Promise<string | null> {
  for (const key of Object.keys(requirement)) {
    if (!knownKeys.has(key)) throw new UnsupportedFeature(`runOnRequirement key: ${key}`);
  }
  const { minServerVersion, maxServerVersion, topologies, serverless, auth, authMechanism, csfle } =
    requirement;
  if (typeof minServerVersion === 'string' && compareVersions(facts.version, minServerVersion) < 0) {
    return `minServerVersion ${minServerVersion} > ${facts.version}`;
  }
  if (typeof maxServerVersion === 'string' && compareVersions(facts.version, maxServerVersion) > 0) {
    return `maxServerVersion ${maxServerVersion} < ${facts.version}`;
  }
  if (Array.isArray(topologies) && !topologies.includes(facts.topology)) {
    const shardedReplicaSet = facts.topology === 'sharded-replicaset' && topologies.includes('sharded');
    if (!shardedReplicaSet) return `topologies ${topologies.join(',')} exclude ${facts.topology}`;
  }
  if (serverless === 'require' && !facts.serverless) return 'serverless: require';
  if (serverless === 'forbid' && facts.serverless) return 'serverless: forbid';
  if (auth === true && !facts.auth) return 'auth: true';
  if (auth === false && facts.auth) return 'auth: false';
  if (authMechanism !== undefined) return `authMechanism ${String(authMechanism)} (no auth)`;
  if (csfle === true && !facts.csfle) return 'csfle: true';
  if (csfle === false && facts.csfle) return 'csfle: false';
  const parameters = requirement.serverParameters;
  if (isDocument(parameters)) {
    for (const [name, expected] of Object.entries(parameters)) {
      const actual = await facts.serverParameter(name);
      const mismatch =
        actual === undefined ? 'unknown parameter' : matchValue(expected, actual, { root: false });
      if (mismatch) return `serverParameters.${name}: ${mismatch}`;
    }
  }
  return null;
}

/** A list of requirements applies when any one of them is met; an absent list always applies. */
export async function evaluateRequirements(
  requirements: unknown,
  facts: ServerFacts,
): Promise<RequirementVerdict> {
  if (requirements === undefined) return { applies: true };
  if (!Array.isArray(requirements)) throw new Error('runOnRequirements must be an array');
  if (requirements.length === 0) return { applies: true };
  const reasons: string[] = [];
  for (const requirement of requirements) {
    if (!isDocument(requirement)) throw new Error('each runOnRequirement must be a document');
    const reason = await checkOne(requirement, facts);
    if (reason === null) return { applies: true };
    reasons.push(reason);
  }
  return { applies: false, reason: `runOnRequirements not met: ${reasons.join(' / ')}` };
}
