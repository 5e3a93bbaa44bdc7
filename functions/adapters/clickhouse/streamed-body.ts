import { once } from 'node:events';
import { Readable } from 'node:stream';

/** A caller's body made into a request body, and what became of reading it. */
export interface StreamedBody {
  /** Holds at most one chunk ahead of the socket: the caller's memory bound is the point. */
  stream: Readable;
  /** What the caller's body threw while being read, if it threw. */
  failure(): { thrown: unknown } | undefined;
  /**
   * Stops reading the caller's body and waits until it is closed, so the caller never has it read
   * behind its back after the insert has answered (a server error can answer before the body ends).
   */
  release(): Promise<void>;
}

/**
 * Reads the body up to its first bytes; undefined when it ends with none, so an empty insert is
 * never sent (ClickHouse refuses one). Empty chunks are dropped on the way.
 */
export async function streamedBody(chunks: AsyncIterable<Uint8Array>): Promise<StreamedBody | undefined> {
  const source = chunks[Symbol.asyncIterator]();
  let first = await source.next();
  while (!first.done && first.value.byteLength === 0) first = await source.next();
  if (first.done) return undefined;
  const state: { done: boolean; failure?: { thrown: unknown } } = { done: false };
  const stream = Readable.from(relay(first.value, source, state), { objectMode: true, highWaterMark: 1 });
  return {
    stream,
    failure: () => state.failure,
    release: async () => {
      if (!stream.closed) {
        const closed = once(stream, 'close');
        stream.destroy();
        await closed;
      }
      // A stream destroyed before it was ever read leaves the caller's iterator open.
      if (!state.done) {
        state.done = true;
        await source.return?.();
      }
    },
  };
}

/**
 * Only errors from the caller's own `next()` are recorded as its failure: a socket error thrown
 * into this generator at a `yield` (Readable.from does so when the request dies) is not the body's.
 */
async function* relay(
  first: Uint8Array,
  source: AsyncIterator<Uint8Array>,
  state: { done: boolean; failure?: { thrown: unknown } },
): AsyncGenerator<Uint8Array> {
  try {
    yield first;
    for (;;) {
      let step: IteratorResult<Uint8Array>;
      try {
        step = await source.next();
      } catch (thrown) {
        state.done = true;
        state.failure = { thrown };
        throw thrown;
      }
      if (step.done) {
        state.done = true;
        return;
      }
      if (step.value.byteLength > 0) yield step.value;
    }
  } finally {
    if (!state.done) {
      state.done = true;
      await source.return?.();
    }
  }
}
