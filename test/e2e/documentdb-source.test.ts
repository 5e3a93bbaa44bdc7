/**
 * Issue #17's DocumentDB acceptance, through the local API and runtime as `npm start` composes
 * them, against the simulator's DocumentDB flavour and the real driver: a pipe on a collection
 * whose change streams are off fails POST /preflight and Provision with the command that
 * enables them; once enabled, the same pipe reaches Running and converges (FINAL equals the
 * source) through snapshot and CDC. The pipe's connection string has no retryWrites=false: the
 * flavour refuses retryable writes, so the product must not need any.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatorFor } from '../api/openapi-schema.js';
import {
  type ApiWorld,
  compareTable,
  createRequest,
  equalWith,
  http,
  mapping,
  pumpCdc,
  seed,
  startApiWorld,
  waitForState,
} from '../api-e2e/support.js';

const ORDERS = 400;
const ENABLE_COMMAND =
  'db.adminCommand({modifyChangeStreams: 1, database: "shop", collection: "", enable: true})';

interface Check {
  id: string;
  status: string;
  message: string;
  advice: string | null;
}

describe('a pipe on Amazon DocumentDB (the simulator flavour)', () => {
  let world: ApiWorld;
  let pipeOnShop = '';

  beforeAll(async () => {
    world = await startApiWorld({ flavor: 'documentdb' });
    await seed(world, 'shop', 'orders', ORDERS);
  }, 120_000);

  afterAll(async () => {
    await world?.stop();
  }, 60_000);

  const preflightRequest = () => {
    const { source, destination, settings } = createRequest(world, 'shop', [
      mapping('shop', 'orders', 'orders'),
    ]);
    return { source, destination, tableMappings: settings.tableMappings };
  };

  async function preflight(): Promise<{ verdict: string; check: (id: string) => Check }> {
    const answer = await http(world, 'POST', '/preflight', preflightRequest());
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const validate = validatorFor('#/components/schemas/PreflightReport');
    expect(validate(answer.body), JSON.stringify(validate.errors)).toBe(true);
    const checks = answer.body.checks as Check[];
    return {
      verdict: answer.body.verdict,
      check: (id) => {
        const found = checks.find((candidate) => candidate.id === id);
        if (!found) throw new Error(`no check ${id} in ${JSON.stringify(answer.body)}`);
        return found;
      },
    };
  }

  it('fails POST /preflight and Provision while change streams are off, saying how to enable them', async () => {
    const report = await preflight();
    expect(report.verdict).toBe('failed');
    expect(report.check('source.connection').message).toContain('Amazon DocumentDB (MongoDB 5.0.0 API)');
    const changeStream = report.check('source.changeStream');
    expect(changeStream.status).toBe('failed');
    expect(changeStream.message).toContain('change streams off for shop.orders');
    expect(changeStream.message).toContain(ENABLE_COMMAND);
    expect(changeStream.message).toContain('change_stream_log_retention_duration');

    const created = await http(
      world,
      'POST',
      '/pipes',
      createRequest(world, 'refused', [mapping('shop', 'orders', 'refused_orders')]),
    );
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const failed = await waitForState(world, created.body.id, 'Failed');
    expect(failed.lastError).toMatchObject({
      name: 'SourceFatalError',
      message: expect.stringContaining(ENABLE_COMMAND),
    });
  });

  it('once enabled, passes pre-flight, reaches Running and converges through snapshot and CDC', async () => {
    await world.mongo
      .db('admin')
      .command({ modifyChangeStreams: 1, database: 'shop', collection: '', enable: true });
    const report = await preflight();
    expect(report.verdict).not.toBe('failed');
    expect(report.check('source.changeStream')).toMatchObject({
      status: 'passed',
      message: 'change streams are enabled on database shop (Amazon DocumentDB)',
    });
    expect(report.check('source.oplog')).toMatchObject({
      status: 'warned',
      message: expect.stringContaining('change_stream_log_retention_duration'),
    });

    const created = await http(
      world,
      'POST',
      '/pipes',
      createRequest(world, 'shop', [mapping('shop', 'orders', 'orders')]),
    );
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const pipeId = created.body.id as string;
    await waitForState(world, pipeId, 'Running');
    expect(await compareTable(world, 'shop', 'orders', 'orders')).toEqual(equalWith(ORDERS));

    const orders = world.mongo.db('shop').collection<{ _id: number; name?: string }>('orders');
    await seed(world, 'shop', 'orders', 50, 10_000);
    await orders.updateMany({ _id: { $lt: 20 } }, { $set: { name: 'changed on DocumentDB' } });
    await orders.deleteMany({ _id: { $gte: 380, $lt: 400 } });
    expect(await pumpCdc(world, pipeId)).toBeGreaterThanOrEqual(50 + 20 + 20);
    expect(await compareTable(world, 'shop', 'orders', 'orders')).toEqual(equalWith(ORDERS + 50 - 20));
    pipeOnShop = pipeId;
  });

  it('says change streams were switched off, not that history was lost, when they are disabled under a pipe', async () => {
    await world.mongo
      .db('admin')
      .command({ modifyChangeStreams: 1, database: 'shop', collection: '', enable: false });
    await seed(world, 'shop', 'orders', 5, 20_000);
    const outcome = await pumpCdc(world, pipeOnShop).then(
      (events) => ({ events }),
      (error: unknown) => ({ error: String(error) }),
    );
    const pipe = (await http(world, 'GET', `/pipes/${pipeOnShop}`)).body;
    expect(pipe.lastError).toMatchObject({
      name: 'SourceFatalError',
      message: expect.stringContaining('Amazon DocumentDB has change streams switched off'),
    });
    expect(JSON.stringify(outcome)).not.toMatch(/resync needed/i);
  });
});
