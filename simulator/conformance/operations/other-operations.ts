/** Operations on database, client, session, change stream and cursor entities. */
import type { AbstractCursor, ChangeStream, ClientSession, Db, Document } from 'mongodb';
import { readPreferenceFrom } from '../create-entities.js';
import type { ClientEntity } from '../entities.js';
import { TestFileError } from '../errors.js';
import { type Arguments, changeStreamOptions } from './arguments.js';
import { noResult, type OperationResult } from './results.js';

export const databaseOperations: Record<string, (db: Db, args: Arguments) => Promise<OperationResult>> = {
  runCommand: async (db, args) => {
    const command = args.required<Document>('command');
    const commandName = args.required<string>('commandName');
    if (Object.keys(command)[0] !== commandName) {
      throw new TestFileError(`runCommand: commandName ${commandName} is not the command's first key`);
    }
    const readPreference = args.optional('readPreference');
    const options = args.options([]);
    if (readPreference !== undefined) options.readPreference = readPreferenceFrom(readPreference);
    return { value: await db.command(command, options) };
  },
  aggregate: async (db, args) => {
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
    return { value: await db.aggregate(pipeline, options).toArray(), iterable: true };
  },
  createCollection: async (db, args) => {
    const name = args.required<string>('collection');
    const options = args.options([
      'viewOn',
      'pipeline',
      'capped',
      'size',
      'max',
      'changeStreamPreAndPostImages',
      'clusteredIndex',
      'collation',
      'expireAfterSeconds',
      'timeseries',
      'validator',
      'validationLevel',
      'validationAction',
    ]);
    await db.createCollection(name, options);
    return noResult;
  },
  dropCollection: async (db, args) => {
    const name = args.required<string>('collection');
    await db.dropCollection(name, args.options(['encryptedFields']));
    return noResult;
  },
  listCollections: async (db, args) => {
    const filter = args.optional<Document>('filter') ?? {};
    const options = args.options(['batchSize', 'nameOnly', 'authorizedCollections']);
    return { value: await db.listCollections(filter, options).toArray(), iterable: true };
  },
  listCollectionNames: async (db, args) => {
    const filter = args.optional<Document>('filter') ?? {};
    const collections = await db
      .listCollections(filter, { ...args.options(['batchSize']), nameOnly: true })
      .toArray();
    return { value: collections.map((collection) => collection.name) };
  },
  createChangeStream: async (db, args) => {
    const pipeline = args.optional<Document[]>('pipeline') ?? [];
    return { value: db.watch(pipeline, args.options(changeStreamOptions)) };
  },
  modifyCollection: async (db, args) => {
    const collection = args.required<string>('collection');
    const rest = args.options(['validator', 'index', 'changeStreamPreAndPostImages', 'expireAfterSeconds']);
    delete rest.session;
    return { value: await db.command({ collMod: collection, ...rest }) };
  },
};

export const clientOperations: Record<
  string,
  (entity: ClientEntity, args: Arguments) => Promise<OperationResult>
> = {
  createChangeStream: async (entity, args) => {
    const pipeline = args.optional<Document[]>('pipeline') ?? [];
    return { value: entity.client.watch(pipeline, args.options(changeStreamOptions)) };
  },
  listDatabases: async (entity, args) => {
    const filter = args.optional<Document>('filter');
    const options = args.options(['nameOnly', 'authorizedDatabases']);
    const result = await entity.client
      .db('admin')
      .admin()
      .listDatabases({ ...options, ...(filter ? { filter } : {}) });
    return { value: result.databases, iterable: true };
  },
  listDatabaseNames: async (entity, args) => {
    const result = await entity.client
      .db('admin')
      .admin()
      .listDatabases({ ...args.options([]), nameOnly: true });
    return { value: result.databases.map((database) => database.name) };
  },
  close: async (entity, args) => {
    args.assertAllUsed();
    entity.closed = true;
    await entity.client.close();
    return noResult;
  },
};

export const sessionOperations: Record<
  string,
  (session: ClientSession, args: Arguments) => Promise<OperationResult>
> = {
  startTransaction: async (session, args) => {
    const options = args.options(['readConcern', 'writeConcern', 'readPreference', 'maxCommitTimeMS']);
    delete options.session;
    session.startTransaction(options as never);
    return noResult;
  },
  commitTransaction: async (session, args) => {
    args.assertAllUsed();
    await session.commitTransaction();
    return noResult;
  },
  abortTransaction: async (session, args) => {
    args.assertAllUsed();
    await session.abortTransaction();
    return noResult;
  },
  endSession: async (session, args) => {
    args.assertAllUsed();
    await session.endSession();
    return noResult;
  },
};

export const changeStreamOperations: Record<
  string,
  (stream: ChangeStream, args: Arguments) => Promise<OperationResult>
> = {
  iterateUntilDocumentOrError: async (stream, args) => {
    args.assertAllUsed();
    return { value: await stream.next() };
  },
  iterateOnce: async (stream, args) => {
    args.assertAllUsed();
    return { value: (await stream.tryNext()) ?? undefined };
  },
  close: async (stream, args) => {
    args.assertAllUsed();
    await stream.close();
    return noResult;
  },
};

export const cursorOperations: Record<
  string,
  (cursor: AbstractCursor, args: Arguments) => Promise<OperationResult>
> = {
  iterateUntilDocumentOrError: async (cursor, args) => {
    args.assertAllUsed();
    const document = await cursor.next();
    if (document === null) throw new TestFileError('iterateUntilDocumentOrError: the cursor is exhausted');
    return { value: document };
  },
  iterateOnce: async (cursor, args) => {
    args.assertAllUsed();
    return { value: (await cursor.tryNext()) ?? undefined };
  },
  close: async (cursor, args) => {
    args.assertAllUsed();
    await cursor.close();
    return noResult;
  },
};
