/** `createEntities`: turns entity descriptions into driver objects in the entity map. */
import { MongoClient, type MongoClientOptions, ReadConcern, ReadPreference, WriteConcern } from 'mongodb';
import { isDocument } from './bson-types.js';
import { type ClientEntity, type EntityMap, RunnerThread } from './entities.js';
import { TestFileError, UnsupportedFeature } from './errors.js';
import { EventRecorder, needsCommandMonitoring } from './events.js';

export interface EntityContext {
  /** Connection string of the deployment under test. */
  uri: string;
}

/**
 * A client that may not use several mongos gets the first host only ("useMultipleMongoses":
 * false or absent); a replica-set URI is left alone, its hosts are one set.
 */
function clientUri(uri: string, useMultipleMongoses: unknown): string {
  if (useMultipleMongoses === true || uri.includes('replicaSet=')) return uri;
  const match = /^mongodb:\/\/([^/?]+)(.*)$/.exec(uri);
  if (!match) return uri;
  const [, hosts = '', rest = ''] = match;
  return `mongodb://${hosts.split(',')[0]}${rest}`;
}

function stringList(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new TestFileError(`${what} must be a list of strings`);
  }
  return value as string[];
}

function checkKeys(spec: Record<string, unknown>, allowed: string[], what: string): void {
  for (const key of Object.keys(spec)) {
    if (!allowed.includes(key)) throw new UnsupportedFeature(`${what} option: ${key}`);
  }
}

/** Adds URI options to a connection string, replacing any option of the same name. */
export function withUriOptions(uri: string, options: Record<string, unknown>): string {
  const [base, query = ''] = uri.split('?', 2) as [string, string?];
  const names = new Set(Object.keys(options).map((name) => name.toLowerCase()));
  const kept = query
    .split('&')
    .filter((pair) => pair.length > 0 && !names.has(pair.split('=')[0]!.toLowerCase()));
  for (const [name, value] of Object.entries(options)) {
    if (isDocument(value) || Array.isArray(value))
      throw new UnsupportedFeature(`uriOptions value for ${name}`);
    kept.push(`${name}=${encodeURIComponent(String(value))}`);
  }
  const path = base.includes('/', 'mongodb://'.length) ? base : `${base}/`;
  return kept.length > 0 ? `${path}?${kept.join('&')}` : path;
}

/** Driver read preference from the spec's `{mode, tagSets, maxStalenessSeconds, hedge}`. */
export function readPreferenceFrom(spec: unknown): ReadPreference {
  if (!isDocument(spec) || typeof spec.mode !== 'string')
    throw new TestFileError('readPreference needs a mode');
  const mode = spec.mode.charAt(0).toLowerCase() + spec.mode.slice(1);
  const options: Record<string, unknown> = {};
  if (spec.maxStalenessSeconds !== undefined) options.maxStalenessSeconds = spec.maxStalenessSeconds;
  if (spec.hedge !== undefined) options.hedge = spec.hedge;
  return new ReadPreference(mode as 'primary', spec.tagSets as never, options);
}

export function writeConcernFrom(spec: unknown): WriteConcern {
  if (!isDocument(spec)) throw new TestFileError('writeConcern must be a document');
  const concern = WriteConcern.fromOptions({ writeConcern: spec as never });
  if (!concern) throw new TestFileError(`unusable writeConcern ${JSON.stringify(spec)}`);
  return concern;
}

/** Database and collection options: `{readConcern, readPreference, writeConcern}`. */
function namespaceOptions(spec: unknown, what: string): Record<string, unknown> {
  if (spec === undefined) return {};
  if (!isDocument(spec)) throw new TestFileError(`${what} must be a document`);
  checkKeys(spec, ['readConcern', 'readPreference', 'writeConcern'], what);
  const options: Record<string, unknown> = {};
  if (spec.readConcern !== undefined)
    options.readConcern = ReadConcern.fromOptions({ readConcern: spec.readConcern as never });
  if (spec.readPreference !== undefined) options.readPreference = readPreferenceFrom(spec.readPreference);
  if (spec.writeConcern !== undefined) options.writeConcern = writeConcernFrom(spec.writeConcern);
  return options;
}

async function createClient(spec: Record<string, unknown>, map: EntityMap, context: EntityContext) {
  checkKeys(
    spec,
    [
      'id',
      'uriOptions',
      'useMultipleMongoses',
      'observeEvents',
      'ignoreCommandMonitoringEvents',
      'observeSensitiveCommands',
      'storeEventsAsEntities',
      'serverApi',
    ],
    'client',
  );
  const observeEvents = stringList(spec.observeEvents, 'observeEvents');
  const stores = (Array.isArray(spec.storeEventsAsEntities) ? spec.storeEventsAsEntities : []).map(
    (store) => {
      if (!isDocument(store) || typeof store.id !== 'string')
        throw new TestFileError('bad storeEventsAsEntities');
      const sink: Record<string, unknown>[] = [];
      map.set(store.id, { kind: 'eventList', events: sink });
      return { events: stringList(store.events, 'storeEventsAsEntities.events'), sink };
    },
  );
  const options: MongoClientOptions = {
    monitorCommands: needsCommandMonitoring([...observeEvents, ...stores.flatMap((store) => store.events)]),
  };
  if (isDocument(spec.serverApi)) options.serverApi = spec.serverApi as never;
  const uriOptions = isDocument(spec.uriOptions) ? spec.uriOptions : {};
  const client = new MongoClient(
    withUriOptions(clientUri(context.uri, spec.useMultipleMongoses), uriOptions),
    options,
  );
  const recorder = new EventRecorder(client, {
    observeEvents,
    ignoreCommandMonitoringEvents: stringList(
      spec.ignoreCommandMonitoringEvents,
      'ignoreCommandMonitoringEvents',
    ),
    observeSensitiveCommands: spec.observeSensitiveCommands === true,
    stores,
  });
  const entity: ClientEntity = { kind: 'client', client, recorder, closed: false };
  map.set(String(spec.id), entity);
  await client.connect();
}

/** Creates each entity in order; later entities may refer to earlier ones. */
export async function createEntities(specs: unknown, map: EntityMap, context: EntityContext): Promise<void> {
  if (!Array.isArray(specs)) throw new TestFileError('createEntities must be a list');
  for (const item of specs) {
    if (!isDocument(item) || Object.keys(item).length !== 1)
      throw new TestFileError('bad entity description');
    const [kind, spec] = Object.entries(item)[0]!;
    if (!isDocument(spec) || typeof spec.id !== 'string')
      throw new TestFileError(`${kind} entity needs an id`);
    switch (kind) {
      case 'client':
        await createClient(spec, map, context);
        break;
      case 'database': {
        checkKeys(spec, ['id', 'client', 'databaseName', 'databaseOptions'], 'database');
        const client = map.get(spec.client, 'client');
        const db = client.client.db(
          String(spec.databaseName),
          namespaceOptions(spec.databaseOptions, 'databaseOptions'),
        );
        map.set(spec.id, { kind: 'database', db, client });
        break;
      }
      case 'collection': {
        checkKeys(spec, ['id', 'database', 'collectionName', 'collectionOptions'], 'collection');
        const database = map.get(spec.database, 'database');
        const options = namespaceOptions(spec.collectionOptions, 'collectionOptions');
        const collection = database.db.collection(String(spec.collectionName), options);
        map.set(spec.id, { kind: 'collection', collection, client: database.client });
        break;
      }
      case 'session': {
        checkKeys(spec, ['id', 'client', 'sessionOptions'], 'session');
        const client = map.get(spec.client, 'client');
        const options = isDocument(spec.sessionOptions) ? spec.sessionOptions : {};
        const session = client.client.startSession(options as never);
        map.set(spec.id, { kind: 'session', session, client });
        break;
      }
      case 'thread':
        checkKeys(spec, ['id'], 'thread');
        map.set(spec.id, { kind: 'thread', thread: new RunnerThread() });
        break;
      default:
        throw new UnsupportedFeature(`entity type: ${kind}`);
    }
  }
}
