/**
 * Which commands stream under OP_MSG `exhaustAllowed`: the awaitable `hello` of SDAM streaming
 * monitors. Each streamed reply answers the previous one, carrying its `topologyVersion` forward.
 */
import type { Document } from 'bson';
import type { InboundCommand } from './protocol.js';

const HELLO_NAMES = new Set(['hello', 'isMaster', 'ismaster']);

export function isAwaitableHello(body: Document): boolean {
  const name = Object.keys(body)[0];
  return (
    name !== undefined &&
    HELLO_NAMES.has(name) &&
    typeof body.topologyVersion === 'object' &&
    body.topologyVersion !== null &&
    body.maxAwaitTimeMS !== undefined
  );
}

/** The command the next streamed reply answers, or null when the stream ends with this reply. */
export function nextExhaustCommand(command: InboundCommand, reply: Document): InboundCommand | null {
  if (!command.exhaustAllowed || reply.ok !== 1 || !isAwaitableHello(command.body)) return null;
  if (typeof reply.topologyVersion !== 'object' || reply.topologyVersion === null) return null;
  return { ...command, body: { ...command.body, topologyVersion: reply.topologyVersion } };
}
