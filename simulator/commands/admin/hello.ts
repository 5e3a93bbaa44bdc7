/**
 * `hello`, `isMaster` and `ismaster`. With `topologyVersion` + `maxAwaitTimeMS` (SDAM's
 * awaitable hello) the reply waits until the topology changes or the time is up.
 */
import type { Document, ObjectId } from 'bson';
import { type CommandContext, CommandError, type CommandHandler } from '../../contract.js';
import { helloResponse } from '../../topology/hello-response.js';
import type { AdminDeps } from './deps.js';

function parseAwait(
  body: Document,
): { processId: ObjectId; counter: number; maxAwaitTimeMS: number } | undefined {
  const version = body.topologyVersion as Document | undefined;
  if (version === undefined || body.maxAwaitTimeMS === undefined) return undefined;
  const maxAwaitTimeMS = Number(body.maxAwaitTimeMS);
  if (!Number.isFinite(maxAwaitTimeMS) || maxAwaitTimeMS < 0) {
    throw new CommandError(2, 'BadValue', 'maxAwaitTimeMS must be a non-negative integer');
  }
  return {
    processId: version.processId as ObjectId,
    counter: Number(version.counter),
    maxAwaitTimeMS,
  };
}

export function helloCommands(deps: AdminDeps): Record<string, CommandHandler> {
  const hello = async (ctx: CommandContext): Promise<Document> => {
    const awaitable = parseAwait(ctx.body);
    if (awaitable) {
      const current = deps.topology.topologyVersion(ctx.memberName);
      const sameProcess = awaitable.processId?.equals?.(current.processId) === true;
      if (sameProcess && awaitable.counter > deps.topology.counter) {
        throw new CommandError(2, 'BadValue', 'topologyVersion counter is ahead of the server');
      }
      if (sameProcess) await deps.topology.waitForChange(awaitable.counter, awaitable.maxAwaitTimeMS);
    }
    return helloResponse(deps.topology, deps.lastWrite(), {
      memberName: ctx.memberName,
      connectionId: ctx.connectionId,
      legacy: ctx.name !== 'hello',
      helloOk: ctx.body.helloOk === true,
    });
  };
  return { hello, isMaster: hello };
}
