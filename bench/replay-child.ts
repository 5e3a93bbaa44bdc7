/**
 * The stand-ins of the product-alone CDC benchmark, in their own process so their CPU is not
 * counted as the product's: the replay server (the recorded change stream, replay-mongo.ts), the
 * discard ClickHouse endpoint (discard-clickhouse.ts) and dynalite (the pipe store). Sends their
 * addresses to the parent; `GET <clickhouse url>/__stats` returns their counters. Stops when the
 * parent disconnects.
 */
import { startLocalDynamo } from '../local/dynamodb.js';
import { startDiscardClickHouse } from './discard-clickhouse.js';
import { ReplayMongoServer } from './replay-mongo.js';
import { loadRecording } from './replay-recording.js';

export interface ReplayStandIns {
  mongoUri: string;
  clickhouseUrl: string;
  dynamoEndpoint: string;
  dynamoTable: string;
}

const file = process.argv[2];
if (!file) throw new Error('usage: replay-child.ts <recording file>');
const recording = loadRecording(file);
const replay = new ReplayMongoServer(recording);
const mongoUri = await replay.listen();
const discard = await startDiscardClickHouse();
discard.route('/__stats', () => ({ replay: replay.stats, discard: discard.stats }));
const dynamo = await startLocalDynamo({ tableName: 'PipeStoreReplay' });
const standIns: ReplayStandIns = {
  mongoUri,
  clickhouseUrl: discard.url,
  dynamoEndpoint: dynamo.endpoint,
  dynamoTable: dynamo.tableName,
};
process.send?.(standIns);
process.once('disconnect', () => {
  void Promise.allSettled([replay.close(), discard.stop(), dynamo.stop()]).finally(() => process.exit(0));
});
