/**
 * Replica-set admin commands: replSetGetStatus, replSetGetConfig, replSetStepDown,
 * replSetStepUp, replSetFreeze and replSetInitiate (always already initialised here).
 */
import type { Document } from 'bson';
import { type CommandContext, CommandError, type CommandHandler } from '../../contract.js';
import { replSetConfigDocument, replSetStatus } from '../../topology/status.js';
import { type AdminDeps, requireAdmin } from './deps.js';

function nonNegativeNumber(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0) {
    throw new CommandError(2, 'BadValue', `${name} must be a non-negative number`);
  }
  return number;
}

export function replicationCommands(deps: AdminDeps): Record<string, CommandHandler> {
  const { topology } = deps;
  return {
    replSetGetStatus: (ctx) => {
      requireAdmin(ctx.db, 'replSetGetStatus');
      return replSetStatus(topology, deps.lastWrite(), ctx.memberName);
    },
    replSetGetConfig: (ctx) => {
      requireAdmin(ctx.db, 'replSetGetConfig');
      return { config: replSetConfigDocument(topology) };
    },
    replSetStepDown: (ctx: CommandContext): Document => {
      requireAdmin(ctx.db, 'replSetStepDown');
      const stepDownSecs = nonNegativeNumber(
        typeof ctx.body.replSetStepDown === 'boolean' ? undefined : ctx.body.replSetStepDown,
        'stepdown period',
        60,
      );
      const catchUpSecs = nonNegativeNumber(
        ctx.body.secondaryCatchUpPeriodSecs,
        'secondaryCatchUpPeriodSecs',
        10,
      );
      if (catchUpSecs > stepDownSecs) {
        throw new CommandError(
          2,
          'BadValue',
          'stepdown period must be longer than secondaryCatchUpPeriodSecs',
        );
      }
      if (topology.stateOf(ctx.memberName) !== 'PRIMARY') {
        throw new CommandError(10107, 'NotWritablePrimary', "not primary so can't step down");
      }
      topology.stepDown(ctx.memberName, stepDownSecs, ctx.body.force === true);
      return {};
    },
    replSetStepUp: (ctx) => {
      requireAdmin(ctx.db, 'replSetStepUp');
      if (topology.stateOf(ctx.memberName) !== 'SECONDARY') {
        throw new CommandError(95, 'NotSecondary', 'only secondaries can step up');
      }
      topology.elect(ctx.memberName);
      return {};
    },
    replSetFreeze: (ctx) => {
      requireAdmin(ctx.db, 'replSetFreeze');
      const seconds = nonNegativeNumber(ctx.body.replSetFreeze, 'replSetFreeze', 0);
      topology.freeze(ctx.memberName, seconds);
      return seconds === 0 ? { info: 'unfreezing' } : {};
    },
    replSetInitiate: (ctx) => {
      requireAdmin(ctx.db, 'replSetInitiate');
      throw new CommandError(23, 'AlreadyInitialized', 'already initialized');
    },
  };
}
