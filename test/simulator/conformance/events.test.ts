import { describe, expect, it } from 'vitest';
import { UnsupportedFeature } from '../../../simulator/conformance/errors.js';
import {
  countMatchingEvents,
  matchEventList,
  type RecordedEvent,
} from '../../../simulator/conformance/events.js';
import type { EntityLookup } from '../../../simulator/conformance/matcher.js';

const entities: EntityLookup = {
  bsonEntity: () => undefined,
  sessionLsid: () => undefined,
};

const started = (command: Record<string, unknown>): RecordedEvent => ({
  type: 'commandStartedEvent',
  category: 'command',
  event: { command, commandName: Object.keys(command)[0], databaseName: 'db0', serverConnectionId: 5n },
});

const pipeline = [{ $changeStream: {} }];

describe('expected event lists', () => {
  it('matches commands as root documents and nested values strictly', () => {
    const actual = [started({ aggregate: 'c', pipeline, cursor: {}, lsid: { id: 1 }, $db: 'db0' })];
    const expected = [
      { commandStartedEvent: { command: { aggregate: 'c', pipeline }, databaseName: 'db0' } },
    ];
    expect(matchEventList(expected, actual, false, entities)).toBeNull();
    const strict = [
      { commandStartedEvent: { command: { aggregate: 'c', pipeline: [{ $changeStream: { x: 1 } }] } } },
    ];
    expect(matchEventList(strict, actual, false, entities)).toContain('pipeline[0]');
  });

  it('checks counts unless extra events are ignored', () => {
    const actual = [started({ ping: 1 }), started({ find: 'c' })];
    const expected = [{ commandStartedEvent: { commandName: 'ping' } }];
    expect(matchEventList(expected, actual, false, entities)).toContain('expected 1 events, got 2');
    expect(matchEventList(expected, actual, true, entities)).toBeNull();
    expect(matchEventList([...expected, ...expected, ...expected], actual, true, entities)).toContain(
      'got 2',
    );
  });

  it('checks hasServerConnectionId and the event type', () => {
    const actual = [started({ ping: 1 })];
    expect(
      matchEventList([{ commandStartedEvent: { hasServerConnectionId: true } }], actual, false, entities),
    ).toBeNull();
    expect(
      matchEventList([{ commandStartedEvent: { hasServiceId: true } }], actual, false, entities),
    ).not.toBeNull();
    expect(matchEventList([{ commandFailedEvent: {} }], actual, false, entities)).toContain(
      'expected commandFailedEvent',
    );
  });

  it('matches SDAM description types and counts matching events', () => {
    const changed: RecordedEvent = {
      type: 'serverDescriptionChangedEvent',
      category: 'sdam',
      event: {
        previousDescription: { type: 'RSPrimary', address: 'x' },
        newDescription: { type: 'Unknown' },
      },
    };
    const unknown = { serverDescriptionChangedEvent: { newDescription: { type: 'Unknown' } } };
    expect(countMatchingEvents(unknown, [changed, changed], entities)).toBe(2);
    expect(
      countMatchingEvents(
        { serverDescriptionChangedEvent: { newDescription: { type: 'RSPrimary' } } },
        [changed],
        entities,
      ),
    ).toBe(0);
  });

  it('refuses event fields and event kinds it does not know', () => {
    const actual = [started({ ping: 1 })];
    expect(() => matchEventList([{ commandStartedEvent: { bogus: 1 } }], actual, false, entities)).toThrow(
      UnsupportedFeature,
    );
    expect(() => matchEventList([{ poolClearedEvent: {} }], actual, false, entities, 'command')).toThrow(
      UnsupportedFeature,
    );
  });
});

describe("the driver's added wtimeout on commitTransaction and abortTransaction", () => {
  const expectedCommit = [
    { commandStartedEvent: { command: { commitTransaction: 1, writeConcern: { w: 'majority' } } } },
  ];
  const commitWith = (writeConcern: Record<string, unknown>) => [
    started({ commitTransaction: 1, writeConcern, lsid: { id: 1 } }),
  ];

  it('is tolerated, and reported, only when asked for', () => {
    const actual = commitWith({ w: 'majority', wtimeout: 10000 });
    expect(matchEventList(expectedCommit, actual, false, entities)).toContain(
      'unexpected extra keys wtimeout',
    );
    const tolerated = new Set<string>();
    expect(matchEventList(expectedCommit, actual, false, entities, 'command', tolerated)).toBeNull();
    expect([...tolerated]).toEqual(['driver-commit-wtimeout']);
  });

  it('is not tolerated for another value, another command, or a write concern that differs otherwise', () => {
    const tolerated = new Set<string>();
    const match = (expected: unknown[], actual: RecordedEvent[]) =>
      matchEventList(expected, actual, false, entities, 'command', tolerated);
    expect(match(expectedCommit, commitWith({ w: 'majority', wtimeout: 5000 }))).toContain('wtimeout');
    expect(match(expectedCommit, commitWith({ w: 1, wtimeout: 10000 }))).toContain('writeConcern');
    const insert = [{ commandStartedEvent: { command: { insert: 'c', writeConcern: { w: 1 } } } }];
    expect(match(insert, [started({ insert: 'c', writeConcern: { w: 1, wtimeout: 10000 } })])).toContain(
      'wtimeout',
    );
    const expectsTimeout = [
      {
        commandStartedEvent: {
          command: { commitTransaction: 1, writeConcern: { w: 'majority', wtimeout: 5000 } },
        },
      },
    ];
    expect(match(expectsTimeout, commitWith({ w: 'majority', wtimeout: 10000 }))).toContain('wtimeout');
    expect(tolerated.size).toBe(0);
  });
});
