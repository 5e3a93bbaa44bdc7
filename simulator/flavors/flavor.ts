/**
 * A flavour changes what a replica set answers without forking its parts: it may replace or
 * wrap the admin and storage command handlers and the change stream opener before the
 * deployment registers them. `mongodb` changes nothing; `documentdb` is in documentdb.ts.
 */
import type { CommandHandler } from '../contract.js';
import type { OpenChangeStream } from '../storage/command-support.js';

export type FlavorName = 'mongodb' | 'documentdb';

export interface FlavorHooks {
  readonly name: FlavorName;
  admin(handlers: Record<string, CommandHandler>): Record<string, CommandHandler>;
  storage(handlers: Record<string, CommandHandler>): Record<string, CommandHandler>;
  changeStreams(open: OpenChangeStream): OpenChangeStream;
}

export const MONGODB_FLAVOR: FlavorHooks = {
  name: 'mongodb',
  admin: (handlers) => handlers,
  storage: (handlers) => handlers,
  changeStreams: (open) => open,
};
