import type { CreateRules } from '../engines/register-pipe.js';

/**
 * The cloud's create rules, from the function's environment: never a plain connection string or
 * password (secret ARNs only), and the optional DEFAULT_DESTINATION (a JSON object without a
 * password) for requests that name no destination. The API and the create machine's
 * RegisterPipe Task apply the same rules.
 */
export function cloudCreateRules(env: Record<string, string | undefined>): CreateRules {
  return { allowPlainSecrets: false, defaultDestination: parseDefaultDestination(env.DEFAULT_DESTINATION) };
}

function parseDefaultDestination(text: string | undefined): Record<string, unknown> | null {
  if (!text) return null;
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value) || 'password' in value) {
    throw new Error('DEFAULT_DESTINATION must be a JSON object without a password (use secretArn)');
  }
  return value as Record<string, unknown>;
}
