/** Argument checking shared by the entity operations: unknown arguments are unsupported, not ignored. */
import type { ClientSession } from 'mongodb';
import { isDocument } from '../bson-types.js';
import type { EntityMap } from '../entities.js';
import { TestFileError, UnsupportedFeature } from '../errors.js';

export class Arguments {
  private readonly used = new Set<string>();

  constructor(
    private readonly operation: string,
    private readonly values: Record<string, unknown>,
    private readonly entities: EntityMap,
  ) {}

  static of(operation: string, raw: unknown, entities: EntityMap): Arguments {
    if (raw !== undefined && !isDocument(raw))
      throw new TestFileError(`${operation}: arguments must be a document`);
    return new Arguments(operation, (raw ?? {}) as Record<string, unknown>, entities);
  }

  required<T = unknown>(name: string): T {
    if (this.values[name] === undefined)
      throw new TestFileError(`${this.operation}: missing argument ${name}`);
    this.used.add(name);
    return this.values[name] as T;
  }

  optional<T = unknown>(name: string): T | undefined {
    this.used.add(name);
    return this.values[name] as T | undefined;
  }

  /** The named driver options that are present, plus the resolved `session` when given. */
  options(names: string[]): Record<string, unknown> {
    const options: Record<string, unknown> = {};
    for (const name of [...names, 'session']) {
      const value = this.optional(name);
      if (value === undefined) continue;
      options[name] = name === 'session' ? this.session(value) : value;
    }
    if (typeof options.returnDocument === 'string')
      options.returnDocument = options.returnDocument.toLowerCase();
    this.assertAllUsed();
    return options;
  }

  session(name: unknown): ClientSession {
    return this.entities.get(name, 'session').session;
  }

  /** Fails on any argument the operation did not read. */
  assertAllUsed(): void {
    for (const name of Object.keys(this.values)) {
      if (!this.used.has(name))
        throw new UnsupportedFeature(`argument ${name} for operation ${this.operation}`);
    }
  }
}

export const writeOptions = ['bypassDocumentValidation', 'comment', 'let', 'writeConcern'];
export const updateOptions = [...writeOptions, 'upsert', 'arrayFilters', 'collation', 'hint', 'sort'];
export const findOptions = [
  'sort',
  'skip',
  'limit',
  'batchSize',
  'projection',
  'collation',
  'hint',
  'comment',
  'let',
  'maxTimeMS',
  'min',
  'max',
  'returnKey',
  'showRecordId',
  'allowDiskUse',
  'noCursorTimeout',
  'allowPartialResults',
  'maxAwaitTimeMS',
  'singleBatch',
];
export const changeStreamOptions = [
  'batchSize',
  'collation',
  'comment',
  'fullDocument',
  'fullDocumentBeforeChange',
  'maxAwaitTimeMS',
  'resumeAfter',
  'showExpandedEvents',
  'startAfter',
  'startAtOperationTime',
];
