/** Operations on collection entities, mapped onto the driver's `Collection` API. */
import type { AnyBulkWriteOperation, Collection, Document } from 'mongodb';
import { isDocument } from '../bson-types.js';
import { TestFileError, UnsupportedFeature } from '../errors.js';
import {
  type Arguments,
  changeStreamOptions,
  findOptions,
  updateOptions,
  writeOptions,
} from './arguments.js';
import {
  bulkWriteDocument,
  deleteResult,
  insertManyResult,
  insertOneResult,
  noResult,
  type OperationResult,
  updateResult,
} from './results.js';

type CollectionOperation = (collection: Collection, args: Arguments) => Promise<OperationResult>;

const modifyOptions = [...writeOptions, 'projection', 'sort', 'upsert', 'collation', 'hint', 'maxTimeMS'];
const bulkModels = new Set(['insertOne', 'updateOne', 'updateMany', 'replaceOne', 'deleteOne', 'deleteMany']);

function bulkRequests(requests: unknown): AnyBulkWriteOperation[] {
  if (!Array.isArray(requests)) throw new TestFileError('bulkWrite: requests must be a list');
  return requests.map((request) => {
    if (!isDocument(request) || Object.keys(request).length !== 1)
      throw new TestFileError('bad bulkWrite model');
    const model = Object.keys(request)[0]!;
    if (!bulkModels.has(model)) throw new UnsupportedFeature(`bulkWrite model: ${model}`);
    return request as unknown as AnyBulkWriteOperation;
  });
}

export const collectionOperations: Record<string, CollectionOperation> = {
  insertOne: async (collection, args) => {
    const document = args.required<Document>('document');
    return insertOneResult(await collection.insertOne(document, args.options(writeOptions)));
  },
  insertMany: async (collection, args) => {
    const documents = args.required<Document[]>('documents');
    return insertManyResult(
      await collection.insertMany(documents, args.options([...writeOptions, 'ordered'])),
    );
  },
  updateOne: async (collection, args) => {
    const [filter, update] = [args.required<Document>('filter'), args.required<Document>('update')];
    return updateResult(await collection.updateOne(filter, update, args.options(updateOptions)));
  },
  updateMany: async (collection, args) => {
    const [filter, update] = [args.required<Document>('filter'), args.required<Document>('update')];
    return updateResult(await collection.updateMany(filter, update, args.options(updateOptions)));
  },
  replaceOne: async (collection, args) => {
    const [filter, replacement] = [args.required<Document>('filter'), args.required<Document>('replacement')];
    return updateResult(await collection.replaceOne(filter, replacement, args.options(updateOptions)));
  },
  deleteOne: async (collection, args) => {
    const filter = args.required<Document>('filter');
    return deleteResult(
      await collection.deleteOne(filter, args.options([...writeOptions, 'collation', 'hint'])),
    );
  },
  deleteMany: async (collection, args) => {
    const filter = args.required<Document>('filter');
    return deleteResult(
      await collection.deleteMany(filter, args.options([...writeOptions, 'collation', 'hint'])),
    );
  },
  findOneAndUpdate: async (collection, args) => {
    const [filter, update] = [args.required<Document>('filter'), args.required<Document>('update')];
    const options = args.options([...modifyOptions, 'returnDocument', 'arrayFilters']);
    return { value: await collection.findOneAndUpdate(filter, update, options) };
  },
  findOneAndReplace: async (collection, args) => {
    const [filter, replacement] = [args.required<Document>('filter'), args.required<Document>('replacement')];
    const options = args.options([...modifyOptions, 'returnDocument']);
    return { value: await collection.findOneAndReplace(filter, replacement, options) };
  },
  findOneAndDelete: async (collection, args) => {
    const filter = args.required<Document>('filter');
    return { value: await collection.findOneAndDelete(filter, args.options(modifyOptions)) };
  },
  find: async (collection, args) => {
    const filter = args.optional<Document>('filter') ?? {};
    return { value: await collection.find(filter, args.options(findOptions)).toArray(), iterable: true };
  },
  findOne: async (collection, args) => {
    const filter = args.optional<Document>('filter') ?? {};
    return { value: await collection.findOne(filter, args.options(findOptions)) };
  },
  aggregate: async (collection, args) => {
    const pipeline = args.required<Document[]>('pipeline');
    const options = args.options([
      'batchSize',
      'allowDiskUse',
      'collation',
      'comment',
      'hint',
      'let',
      'maxTimeMS',
    ]);
    return { value: await collection.aggregate(pipeline, options).toArray(), iterable: true };
  },
  countDocuments: async (collection, args) => {
    const filter = args.required<Document>('filter');
    const options = args.options(['skip', 'limit', 'collation', 'hint', 'comment', 'maxTimeMS']);
    return { value: await collection.countDocuments(filter, options) };
  },
  estimatedDocumentCount: async (collection, args) => {
    return { value: await collection.estimatedDocumentCount(args.options(['maxTimeMS', 'comment'])) };
  },
  count: async (collection, args) => {
    const filter = args.optional<Document>('filter') ?? {};
    const options = args.options(['skip', 'limit', 'collation', 'hint', 'comment', 'maxTimeMS']);
    return { value: await collection.count(filter, options) };
  },
  distinct: async (collection, args) => {
    const [fieldName, filter] = [args.required<string>('fieldName'), args.required<Document>('filter')];
    const options = args.options(['collation', 'comment', 'maxTimeMS', 'hint']);
    return { value: await collection.distinct(fieldName, filter, options) };
  },
  bulkWrite: async (collection, args) => {
    const requests = bulkRequests(args.required('requests'));
    const result = await collection.bulkWrite(requests, args.options([...writeOptions, 'ordered']));
    return { value: bulkWriteDocument(result) };
  },
  createChangeStream: async (collection, args) => {
    const pipeline = args.optional<Document[]>('pipeline') ?? [];
    return { value: collection.watch(pipeline, args.options(changeStreamOptions)) };
  },
  createFindCursor: async (collection, args) => {
    const filter = args.optional<Document>('filter') ?? {};
    return { value: collection.find(filter, args.options(findOptions)) };
  },
  rename: async (collection, args) => {
    const to = args.required<string>('to');
    await collection.rename(to, args.options(['dropTarget']));
    return noResult;
  },
  drop: async (collection, args) => {
    await collection.drop(args.options(['comment']));
    return noResult;
  },
  createIndex: async (collection, args) => {
    const keys = args.required<Document>('keys');
    return {
      value: await collection.createIndex(keys, args.options(['name', 'unique', 'sparse', 'hidden'])),
    };
  },
  dropIndex: async (collection, args) => {
    const name = args.required<string>('name');
    await collection.dropIndex(name, args.options([]));
    return noResult;
  },
  listIndexes: async (collection, args) => {
    return { value: await collection.listIndexes(args.options(['batchSize'])).toArray(), iterable: true };
  },
};
