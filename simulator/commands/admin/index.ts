/** Every admin command handler WIRE provides, ready for `CommandRegistry.registerAll`. */
import type { CommandHandler } from '../../contract.js';
import type { AdminDeps } from './deps.js';
import { diagnosticCommands } from './diagnostics.js';
import { failPointCommands } from './fail-point.js';
import { helloCommands } from './hello.js';
import { replicationCommands } from './replication.js';
import { sessionCommands } from './sessions.js';

export type { AdminDeps } from './deps.js';

export function adminCommands(deps: AdminDeps): Record<string, CommandHandler> {
  return {
    ...helloCommands(deps),
    ...diagnosticCommands(deps),
    ...replicationCommands(deps),
    ...sessionCommands(deps),
    ...failPointCommands(deps),
  };
}
