/**
 * An async iterator read one item ahead of its consumer: `start()` asks for the next item while
 * the consumer still works on the last one. At most one read is in flight, so at most two items
 * are alive (the one in hand, the one being read). A read's failure is kept until the consumer
 * asks for that item: a consumer that stops first never sees it.
 */
type Settled<T> = { ok: true; result: IteratorResult<T> } | { ok: false; error: unknown };

export class ReadAhead<T> {
  private pending: Promise<Settled<T>> | null = null;

  constructor(private readonly iterator: AsyncIterator<T>) {}

  /** Asks for the next item now, unless a read is already in flight. */
  start(): void {
    if (this.pending !== null) return;
    this.pending = this.iterator.next().then(
      (result): Settled<T> => ({ ok: true, result }),
      (error: unknown): Settled<T> => ({ ok: false, error }),
    );
  }

  /** The next item (its read started now if it was not yet), or done; throws the read's error. */
  async next(): Promise<IteratorResult<T>> {
    this.start();
    const settled = await (this.pending as Promise<Settled<T>>);
    this.pending = null;
    if (!settled.ok) throw settled.error;
    return settled.result;
  }

  /**
   * Stops reading: waits for a read in flight to end (its item or error is dropped), then closes
   * the iterator (a generator's `finally` runs: the source closes its cursor).
   */
  async close(): Promise<void> {
    const pending = this.pending;
    this.pending = null;
    if (pending !== null) await pending;
    await this.iterator.return?.();
  }
}
