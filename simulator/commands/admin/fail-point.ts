/** `configureFailPoint`, admin database only, returning how often the point had fired. */
import type { Document } from 'bson';
import { CommandError, type CommandHandler } from '../../contract.js';
import { type AdminDeps, requireAdmin } from './deps.js';

export function failPointCommands(deps: AdminDeps): Record<string, CommandHandler> {
  return {
    configureFailPoint: (ctx) => {
      requireAdmin(ctx.db, 'configureFailPoint');
      const name = ctx.body.configureFailPoint;
      if (typeof name !== 'string')
        throw new CommandError(2, 'BadValue', 'configureFailPoint needs a fail point name');
      const data = (ctx.body.data ?? {}) as Document;
      return { count: deps.failPoints(ctx.memberName).configure(name, ctx.body.mode, data) };
    },
  };
}
