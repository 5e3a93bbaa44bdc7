import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The team's shared folder sits beside the repository (`../shared`), on developer machines and
 * in CI alike. Tests that use its data skip visibly, naming the path, when it is absent.
 */
export const SHARED_DIR = join(import.meta.dirname, '..', '..', '..', 'shared');

export function sharedPath(...parts: string[]): string {
  return join(SHARED_DIR, ...parts);
}

export function hasShared(...parts: string[]): boolean {
  return existsSync(sharedPath(...parts));
}
