import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerOwners } from '../adapters/secretsmanager/secret-owners.js';
import type { AllowedHosts } from '../core/hosts.js';
import type { CreateRules } from '../engines/register-pipe.js';
import { traced } from './observability.js';

/** The environment variables that carry the deployment's host allowlists (comma lists; empty: any host). */
export const ALLOWED_HOSTS_ENV = {
  source: 'ALLOWED_SOURCE_HOSTS',
  destination: 'ALLOWED_DESTINATION_HOSTS',
} as const;

export function allowedHostsFromEnv(env: Record<string, string | undefined>): AllowedHosts {
  const list = (name: string) =>
    (env[name] ?? '')
      .split(',')
      .map((host) => host.trim())
      .filter((host) => host.length > 0);
  return { source: list(ALLOWED_HOSTS_ENV.source), destination: list(ALLOWED_HOSTS_ENV.destination) };
}

/**
 * The cloud's create rules, from the function's environment: never a plain connection string or
 * password (secret ARNs only), secrets usable only by the callers their owner tag lists, the
 * deployment's host allowlists, and the optional DEFAULT_DESTINATION (a JSON object without a
 * password) for requests that name no destination. The API and the create machine's
 * RegisterPipe Task apply the same rules.
 */
export function cloudCreateRules(env: Record<string, string | undefined>): CreateRules {
  return {
    allowPlainSecrets: false,
    defaultDestination: parseDefaultDestination(env.DEFAULT_DESTINATION),
    allowedHosts: allowedHostsFromEnv(env),
    secretOwners: new SecretsManagerOwners(traced(new SecretsManagerClient({}))),
  };
}

function parseDefaultDestination(text: string | undefined): Record<string, unknown> | null {
  if (!text) return null;
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value) || 'password' in value) {
    throw new Error('DEFAULT_DESTINATION must be a JSON object without a password (use secretArn)');
  }
  return value as Record<string, unknown>;
}
