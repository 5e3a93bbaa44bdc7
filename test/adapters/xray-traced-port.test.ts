import { Tracer } from '@aws-lambda-powertools/tracer';
import { Segment, type Subsegment } from 'aws-xray-sdk-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { traceCall, tracedPort } from '../../functions/adapters/xray/traced-port.js';
import { SourceUnavailableError } from '../../functions/core/errors.js';

/** A port like the adapters: private state, async methods, a sync one, a partition read. */
class FakeSource {
  readonly #rows = ['a', 'b', 'c'];
  calls: string[] = [];

  async readBatch(max: number): Promise<string[]> {
    this.calls.push(`readBatch(${max})`);
    return this.#rows.slice(0, max);
  }

  async failing(): Promise<never> {
    throw new SourceUnavailableError('no primary');
  }

  describe(): string {
    return `${this.#rows.length} rows`;
  }

  async *readPartition(): AsyncIterable<string> {
    for (const row of this.#rows) yield row;
  }
}

/** Stands for the ClickHouse destination, whose calls nest under the caller's subsegment. */
class FakeDestination {
  constructor(private readonly source: FakeSource) {}

  async insertRows(): Promise<number> {
    return (await this.source.readBatch(2)).length;
  }
}

describe('tracedPort with tracing off (outside Lambda)', () => {
  it('is the port itself', () => {
    const tracer = new Tracer({ enabled: false });
    const port = new FakeSource();
    expect(tracedPort(tracer, 'MongoDB', port)).toBe(port);
    expect(traceCall(tracer, 'x', () => 42)).toBe(42);
  });
});

describe('tracedPort with tracing on', () => {
  let tracer: Tracer;

  beforeAll(() => {
    // Powertools turns the Tracer on only inside Lambda (it reads AWS_EXECUTION_ENV at construction).
    vi.stubEnv('AWS_EXECUTION_ENV', 'AWS_Lambda_nodejs22.x');
    tracer = new Tracer({ enabled: true, serviceName: 'pipes-test', captureHTTPsRequests: false });
    vi.unstubAllEnvs();
  });
  afterAll(() => vi.unstubAllEnvs());

  /** Runs `work` with `root` as the current X-Ray segment, as the Lambda runtime's facade segment is. */
  async function underSegment<T>(root: Segment, work: () => Promise<T>): Promise<T> {
    return tracer.provider.getNamespace().runPromise(async () => {
      tracer.setSegment(root);
      return work();
    });
  }

  const names = (segment: { subsegments?: Subsegment[] }) => (segment.subsegments ?? []).map((s) => s.name);

  it('returns what the port returns and throws the very error it throws', async () => {
    expect(tracer.isTracingEnabled()).toBe(true);
    const port = new FakeSource();
    const traced = tracedPort(tracer, 'MongoDB', port);
    expect(traced).not.toBe(port);
    await underSegment(new Segment('root'), async () => {
      await expect(traced.readBatch(2)).resolves.toEqual(['a', 'b']);
      expect(traced.describe()).toBe('3 rows');
      const error = await traced.failing().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(SourceUnavailableError);
      expect((error as Error).name).toBe('SourceUnavailableError');
      const direct = await port.failing().catch((caught: unknown) => caught);
      expect(Object.getPrototypeOf(error)).toBe(Object.getPrototypeOf(direct));
      const rows: string[] = [];
      for await (const row of traced.readPartition()) rows.push(row);
      expect(rows).toEqual(['a', 'b', 'c']);
    });
    expect(port.calls).toEqual(['readBatch(2)']);
    expect(traced).toBeInstanceOf(FakeSource);
    expect(traced.calls).toBe(port.calls);
  });

  it('records each call as a <system>.<method> subsegment, the failed one flagged with its error', async () => {
    const root = new Segment('root');
    const traced = tracedPort(tracer, 'MongoDB', new FakeSource());
    await underSegment(root, async () => {
      await traced.readBatch(1);
      await traced.failing().catch(() => undefined);
    });
    expect(names(root)).toEqual(['MongoDB.readBatch', 'MongoDB.failing']);
    const [ok, failed] = root.subsegments ?? [];
    expect(ok?.isClosed()).toBe(true);
    expect(ok).not.toHaveProperty('fault', true);
    expect(failed?.isClosed()).toBe(true);
    expect(failed).toHaveProperty('fault', true);
    const cause = (failed as unknown as { cause: { exceptions: Array<{ type: string; message: string }> } })
      .cause;
    expect(cause.exceptions[0]).toMatchObject({ type: 'SourceUnavailableError', message: 'no primary' });
  });

  it('nests the calls a traced call makes, and spans an async iteration until it ends', async () => {
    const root = new Segment('root');
    const source = tracedPort(tracer, 'MongoDB', new FakeSource());
    const destination = tracedPort(tracer, 'ClickHouse', new FakeDestination(source));
    let openWhileIterating: boolean | undefined;
    await underSegment(root, async () => {
      await expect(destination.insertRows()).resolves.toBe(2);
      for await (const row of source.readPartition()) {
        openWhileIterating ??= !root.subsegments?.at(-1)?.isClosed();
        if (row === 'b') break;
      }
    });
    expect(names(root)).toEqual(['ClickHouse.insertRows', 'MongoDB.readPartition']);
    expect(names(root.subsegments?.[0] ?? {})).toEqual(['MongoDB.readBatch']);
    expect(openWhileIterating).toBe(true);
    expect(root.subsegments?.[1]?.isClosed()).toBe(true);
  });

  it('annotates an invocation subsegment', async () => {
    const root = new Segment('root');
    await underSegment(root, () =>
      traceCall(tracer, '## CdcBatch', async () => 'done', { pipeId: 'p-1', operation: 'CdcBatch' }),
    );
    const [invocation] = root.subsegments ?? [];
    expect(invocation?.name).toBe('## CdcBatch');
    expect((invocation as unknown as { annotations: unknown }).annotations).toEqual({
      pipeId: 'p-1',
      operation: 'CdcBatch',
    });
  });
});
