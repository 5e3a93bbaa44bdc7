/**
 * Records the driver's command, CMAP and SDAM events per client entity and matches them
 * against the test file's `expectedEvent` objects.
 */
import type { MongoClient } from 'mongodb';
import { isDocument } from './bson-types.js';
import { transactionWriteConcernTimeout, withoutAddedWriteConcernTimeout } from './driver-deviations.js';
import { UnsupportedFeature } from './errors.js';
import { type EntityLookup, matchValue } from './matcher.js';

export type EventCategory = 'command' | 'cmap' | 'sdam';

/** Spec event name → [driver event name, category]. */
const eventNames: Record<string, [string, EventCategory]> = {
  commandStartedEvent: ['commandStarted', 'command'],
  commandSucceededEvent: ['commandSucceeded', 'command'],
  commandFailedEvent: ['commandFailed', 'command'],
  poolCreatedEvent: ['connectionPoolCreated', 'cmap'],
  poolReadyEvent: ['connectionPoolReady', 'cmap'],
  poolClearedEvent: ['connectionPoolCleared', 'cmap'],
  poolClosedEvent: ['connectionPoolClosed', 'cmap'],
  connectionCreatedEvent: ['connectionCreated', 'cmap'],
  connectionReadyEvent: ['connectionReady', 'cmap'],
  connectionClosedEvent: ['connectionClosed', 'cmap'],
  connectionCheckOutStartedEvent: ['connectionCheckOutStarted', 'cmap'],
  connectionCheckOutFailedEvent: ['connectionCheckOutFailed', 'cmap'],
  connectionCheckedOutEvent: ['connectionCheckedOut', 'cmap'],
  connectionCheckedInEvent: ['connectionCheckedIn', 'cmap'],
  serverDescriptionChangedEvent: ['serverDescriptionChanged', 'sdam'],
  topologyDescriptionChangedEvent: ['topologyDescriptionChanged', 'sdam'],
  serverHeartbeatStartedEvent: ['serverHeartbeatStarted', 'sdam'],
  serverHeartbeatSucceededEvent: ['serverHeartbeatSucceeded', 'sdam'],
  serverHeartbeatFailedEvent: ['serverHeartbeatFailed', 'sdam'],
  topologyOpeningEvent: ['topologyOpening', 'sdam'],
  topologyClosedEvent: ['topologyClosed', 'sdam'],
};

/** Commands whose events are redacted by the driver and hidden unless `observeSensitiveCommands`. */
const sensitiveCommands = new Set([
  'authenticate',
  'saslstart',
  'saslcontinue',
  'getnonce',
  'createuser',
  'updateuser',
  'copydbgetnonce',
  'copydbsaslstart',
  'copydb',
]);

export interface RecordedEvent {
  /** Spec name, e.g. `commandStartedEvent`. */
  type: string;
  category: EventCategory;
  event: Record<string, unknown>;
}

export interface RecorderOptions {
  observeEvents: string[];
  ignoreCommandMonitoringEvents: string[];
  observeSensitiveCommands: boolean;
  /** Extra sinks from `storeEventsAsEntities`. */
  stores: { events: string[]; sink: Record<string, unknown>[] }[];
}

export function needsCommandMonitoring(observeEvents: string[]): boolean {
  return observeEvents.some((name) => eventNames[name]?.[1] === 'command');
}

export function categoryOf(eventType: string): EventCategory {
  const entry = eventNames[eventType];
  if (!entry) throw new UnsupportedFeature(`event type: ${eventType}`);
  return entry[1];
}

function isSensitive(event: Record<string, unknown>): boolean {
  const name = String(event.commandName ?? '').toLowerCase();
  if (sensitiveCommands.has(name)) return true;
  if (name === 'hello' || name === 'ismaster') {
    const body = event.command ?? event.reply;
    return isDocument(body) && Object.keys(body).length === 0;
  }
  return false;
}

export class EventRecorder {
  readonly events: RecordedEvent[] = [];
  private listening = true;

  constructor(client: MongoClient, options: RecorderOptions) {
    const ignored = new Set(options.ignoreCommandMonitoringEvents);
    const wanted = new Set([...options.observeEvents, ...options.stores.flatMap((store) => store.events)]);
    for (const type of wanted) {
      const entry = eventNames[type];
      if (!entry) throw new UnsupportedFeature(`observed event: ${type}`);
      const [driverName, category] = entry;
      client.on(driverName as 'commandStarted', (raw: unknown) => {
        if (!this.listening) return;
        const event = raw as unknown as Record<string, unknown>;
        if (category === 'command') {
          const commandName = String(event.commandName);
          // The runner's own failPoint operations are not part of what tests observe.
          if (ignored.has(commandName) || commandName === 'configureFailPoint') return;
          if (!options.observeSensitiveCommands && isSensitive(event)) return;
        }
        if (options.observeEvents.includes(type)) this.events.push({ type, category, event });
        for (const store of options.stores) {
          if (store.events.includes(type)) store.sink.push(storedEventDocument(type, event));
        }
      });
    }
  }

  stop(): void {
    this.listening = false;
  }

  ofCategory(category: EventCategory): RecordedEvent[] {
    return this.events.filter((recorded) => recorded.category === category);
  }
}

function storedEventDocument(type: string, event: Record<string, unknown>): Record<string, unknown> {
  const document: Record<string, unknown> = { name: type, observedAt: Date.now() / 1000 };
  for (const key of ['commandName', 'databaseName', 'requestId', 'operationId', 'connectionId', 'duration']) {
    if (event[key] !== undefined) document[key] = event[key];
  }
  if (event.failure !== undefined) document.failure = String(event.failure);
  return document;
}

function descriptionType(description: unknown): Record<string, unknown> {
  return { type: isDocument(description) ? description.type : undefined };
}

/** Field of the expected event → how to read it from the driver's event object. */
const fieldReaders: Record<string, (event: Record<string, unknown>) => unknown> = {
  command: (event) => event.command,
  reply: (event) => event.reply,
  commandName: (event) => event.commandName,
  databaseName: (event) => event.databaseName,
  hasServiceId: (event) => event.serviceId != null && !/^0+$/.test(String(event.serviceId)),
  hasServerConnectionId: (event) => event.serverConnectionId != null && Number(event.serverConnectionId) > 0,
  interruptInUseConnections: (event) => event.interruptInUseConnections === true,
  reason: (event) => event.reason,
  awaited: (event) => event.awaited === true,
  previousDescription: (event) => descriptionType(event.previousDescription),
  newDescription: (event) => descriptionType(event.newDescription),
};

/** Root-level documents in events: the command and reply, and description summaries. */
const rootFields = new Set(['command', 'reply', 'previousDescription', 'newDescription']);

/**
 * Collects the driver deviations (driver-deviations.ts) a match had to tolerate; absent, none
 * is tolerated (strict).
 */
export type ToleratedDeviations = Set<string>;

/** Null when `recorded` satisfies the expected event `{<eventType>: {...fields}}`. */
export function matchEvent(
  expected: unknown,
  recorded: RecordedEvent,
  entities: EntityLookup,
  tolerated?: ToleratedDeviations,
): string | null {
  if (!isDocument(expected) || Object.keys(expected).length !== 1) {
    throw new UnsupportedFeature(`expected event shape: ${JSON.stringify(expected)}`);
  }
  const [type, fields] = Object.entries(expected)[0]!;
  categoryOf(type);
  if (type !== recorded.type) {
    const name = recorded.event.commandName ? ` (${String(recorded.event.commandName)})` : '';
    return `expected ${type}, got ${recorded.type}${name}`;
  }
  if (!isDocument(fields)) throw new UnsupportedFeature(`expected ${type} body: ${JSON.stringify(fields)}`);
  for (const [field, value] of Object.entries(fields)) {
    const reader = fieldReaders[field];
    if (!reader) throw new UnsupportedFeature(`expected ${type} field: ${field}`);
    const actual = reader(recorded.event);
    const root = rootFields.has(field);
    const reason = matchValue(value, actual, { root, entities });
    if (!reason) continue;
    const tolerable =
      tolerated && field === 'command'
        ? withoutAddedWriteConcernTimeout(recorded.event.commandName, value, actual)
        : null;
    if (tolerable && !matchValue(value, tolerable, { root, entities })) {
      tolerated?.add(transactionWriteConcernTimeout.id);
      continue;
    }
    return `${type}.${field}: ${reason}`;
  }
  return null;
}

/** Matches the sequence of events of one category against the expectation list. */
export function matchEventList(
  expected: unknown[],
  actual: RecordedEvent[],
  ignoreExtraEvents: boolean,
  entities: EntityLookup,
  category: EventCategory = 'command',
  tolerated?: ToleratedDeviations,
): string | null {
  for (const event of expected) {
    const type = isDocument(event) ? (Object.keys(event)[0] ?? '') : '';
    if (categoryOf(type) !== category)
      throw new UnsupportedFeature(`${type} in a list of ${category} events`);
  }
  const tooFew = actual.length < expected.length;
  const tooMany = !ignoreExtraEvents && actual.length > expected.length;
  const summary = () =>
    actual.map((e) => `${e.type}${e.event.commandName ? `:${String(e.event.commandName)}` : ''}`);
  if (tooFew || tooMany) {
    return `expected ${expected.length} events, got ${actual.length}: [${summary().join(', ')}]`;
  }
  for (let index = 0; index < expected.length; index++) {
    const reason = matchEvent(expected[index], actual[index]!, entities, tolerated);
    if (reason) return `event #${index}: ${reason}`;
  }
  return null;
}

export function countMatchingEvents(
  expected: unknown,
  events: RecordedEvent[],
  entities: EntityLookup,
): number {
  return events.filter((recorded) => matchEvent(expected, recorded, entities) === null).length;
}
