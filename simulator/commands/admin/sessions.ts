/**
 * Session commands: startSession, refreshSessions, endSessions, killSessions, killAllSessions.
 * Ending or killing a session closes the cursors it owns.
 */
import { type Document, UUID } from 'bson';
import { CommandError, type CommandHandler } from '../../contract.js';
import { LOGICAL_SESSION_TIMEOUT_MINUTES } from '../../topology/hello-response.js';
import type { AdminDeps } from './deps.js';

function lsidList(value: unknown, command: string): Document[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'object' && item !== null)) {
    throw new CommandError(14, 'TypeMismatch', `${command} must be an array of session ids`);
  }
  return value as Document[];
}

export function sessionCommands(deps: AdminDeps): Record<string, CommandHandler> {
  return {
    startSession: () => {
      const id = { id: new UUID() };
      deps.sessions.touch(id);
      return { id, timeoutMinutes: LOGICAL_SESSION_TIMEOUT_MINUTES };
    },
    refreshSessions: (ctx) => {
      for (const lsid of lsidList(ctx.body.refreshSessions, 'refreshSessions')) deps.sessions.touch(lsid);
      return {};
    },
    endSessions: (ctx) => {
      deps.sessions.end(lsidList(ctx.body.endSessions, 'endSessions'));
      return {};
    },
    killSessions: (ctx) => {
      const lsids = lsidList(ctx.body.killSessions, 'killSessions');
      // Without authentication an empty list means every session, as on an auth-less server.
      deps.sessions.kill(lsids.length === 0 ? undefined : lsids);
      return {};
    },
    killAllSessions: (ctx) => {
      lsidList(ctx.body.killAllSessions, 'killAllSessions');
      deps.sessions.kill(undefined);
      return {};
    },
  };
}
