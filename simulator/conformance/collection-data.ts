/** `initialData` setup and `outcome` verification, always through the runner's internal client. */
import { type MongoClient, MongoServerError, ReadConcern, ReadPreference, WriteConcern } from 'mongodb';
import { isDocument } from './bson-types.js';
import { AssertionFailure, TestFileError, UnsupportedFeature } from './errors.js';
import type { CollectionData } from './load.js';
import { describeValue, documentsEqualExactly } from './matcher.js';

const majority = new WriteConcern('majority');
const namespaceNotFound = 26;

export async function dropCollection(client: MongoClient, databaseName: string, collectionName: string) {
  try {
    await client.db(databaseName).command({ drop: collectionName, writeConcern: { w: 'majority' } });
  } catch (error) {
    if (!(error instanceof MongoServerError && error.code === namespaceNotFound)) throw error;
  }
}

const collectionDataKeys = new Set(['collectionName', 'databaseName', 'createOptions', 'documents']);

function checkCollectionData(data: unknown, what: string): asserts data is CollectionData[] {
  if (!Array.isArray(data)) throw new TestFileError(`${what} must be a list`);
  for (const collection of data) {
    if (!isDocument(collection) || typeof collection.collectionName !== 'string') {
      throw new TestFileError(`${what} entries need a collectionName`);
    }
    if (typeof collection.databaseName !== 'string' || !Array.isArray(collection.documents)) {
      throw new TestFileError(`${what} entries need a databaseName and a documents list`);
    }
    for (const key of Object.keys(collection)) {
      if (!collectionDataKeys.has(key)) throw new UnsupportedFeature(`${what} field: ${key}`);
    }
  }
}

/** Drops each collection, recreates it (with `createOptions` when given) and inserts its documents. */
export async function setUpInitialData(client: MongoClient, data: CollectionData[]): Promise<void> {
  checkCollectionData(data, 'initialData');
  for (const collection of data) {
    const db = client.db(collection.databaseName);
    await dropCollection(client, collection.databaseName, collection.collectionName);
    if (collection.createOptions || collection.documents.length === 0) {
      await db.createCollection(collection.collectionName, {
        ...collection.createOptions,
        writeConcern: majority,
      });
    }
    if (collection.documents.length > 0) {
      await db
        .collection(collection.collectionName)
        .insertMany(collection.documents, { writeConcern: majority });
    }
  }
}

/** Each collection must hold exactly the expected documents, sorted by `_id`. */
export async function verifyOutcome(client: MongoClient, outcome: CollectionData[]): Promise<void> {
  checkCollectionData(outcome, 'outcome');
  for (const expected of outcome) {
    const actual = await client
      .db(expected.databaseName)
      .collection(expected.collectionName)
      .find(
        {},
        {
          sort: { _id: 1 },
          readPreference: ReadPreference.primary,
          readConcern: ReadConcern.fromOptions({ readConcern: { level: 'local' } }),
        },
      )
      .toArray();
    if (!documentsEqualExactly(expected.documents, actual)) {
      const name = `${expected.databaseName}.${expected.collectionName}`;
      throw new AssertionFailure(
        `outcome of ${name}: expected ${describeValue(expected.documents)}, got ${describeValue(actual)}`,
      );
    }
  }
}
