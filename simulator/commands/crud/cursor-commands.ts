/** `getMore` and `killCursors`, serving every cursor in the shared registry (queries and change streams). */
import { type Document, Long } from 'bson';
import { type CommandContext, CommandError } from '../../contract.js';
import { arrayArg, cursorReply, nonNegativeArg, type ResolvedDeps } from '../../storage/command-support.js';

function cursorIdArg(value: unknown, field: string): Long {
  if (Long.isLong(value)) return value;
  if (typeof value === 'number' && Number.isInteger(value)) return Long.fromNumber(value);
  if (typeof value === 'bigint') return Long.fromBigInt(value);
  throw new CommandError(14, 'TypeMismatch', `BSON field '${field}' is the wrong type, expected type 'long'`);
}

export async function getMore(deps: ResolvedDeps, ctx: CommandContext): Promise<Document> {
  const id = cursorIdArg(ctx.body.getMore, 'getMore.getMore');
  const collection = ctx.body.collection;
  if (typeof collection !== 'string') {
    throw new CommandError(
      40414,
      'Location40414',
      "BSON field 'getMore.collection' is missing but a required field",
    );
  }
  const cursor = deps.cursors.get(id);
  if (!cursor) throw new CommandError(43, 'CursorNotFound', `cursor id ${id.toString()} not found`);
  const ns = `${ctx.db}.${collection}`;
  if (cursor.ns !== ns && !(cursor.ns.startsWith(`${ctx.db}.$cmd`) && collection.startsWith('$cmd'))) {
    throw new CommandError(
      13,
      'Unauthorized',
      `Requested getMore on namespace '${ns}', but cursor ${id.toString()} belongs to a different namespace ${cursor.ns}`,
    );
  }
  const batchSize = nonNegativeArg(ctx.body, 'batchSize', 0);
  const maxTimeMS = ctx.body.maxTimeMS === undefined ? undefined : nonNegativeArg(ctx.body, 'maxTimeMS', 0);
  let batch: Awaited<ReturnType<typeof cursor.nextBatch>>;
  try {
    batch = await cursor.nextBatch(batchSize === 0 ? undefined : batchSize, maxTimeMS);
  } catch (error) {
    deps.cursors.remove(id);
    cursor.close();
    throw error;
  }
  if (batch.exhausted) {
    deps.cursors.remove(id);
    cursor.close();
  }
  return cursorReply(batch.exhausted ? Long.ZERO : id, cursor.ns, batch, 'nextBatch');
}

export function killCursors(deps: ResolvedDeps, ctx: CommandContext): Document {
  const ids = arrayArg(ctx.body, 'cursors').map((value) => cursorIdArg(value, 'killCursors.cursors'));
  const cursorsKilled: Long[] = [];
  const cursorsNotFound: Long[] = [];
  for (const id of ids) {
    const cursor = deps.cursors.get(id);
    if (!cursor) {
      cursorsNotFound.push(id);
      continue;
    }
    cursor.close();
    deps.cursors.remove(id);
    cursorsKilled.push(id);
  }
  return { cursorsKilled, cursorsNotFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
}
