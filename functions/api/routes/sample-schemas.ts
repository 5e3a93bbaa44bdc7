import { z } from '@hono/zod-openapi';
import { createPipeRequestSchema } from '../../core/create-request.js';

/** What `POST /sources/sample` takes and answers; the parser and the OpenAPI document use these objects. */

export const MAX_SAMPLE_SIZE = 10_000;
export const DEFAULT_SAMPLE_SIZE = 1_000;
export const MAX_REPORTED_PATHS = 2_000;
export const DEFAULT_REPORTED_PATHS = 500;

/** MongoDB's own rules for names (docs/source.md): no `/\. "$*<>:|?` in a database, no `$` or NUL in a collection. */
const databaseName = z
  .string()
  .min(1, { error: 'database must not be empty' })
  .max(63, { error: 'database must be at most 63 characters long' })
  .regex(/^[^/\\. "$*<>:|?\0]+$/, { error: 'database must not contain /\\. "$*<>:|? or NUL' })
  .describe('The MongoDB database of the collection.');

const collectionName = z
  .string()
  .min(1, { error: 'collection must not be empty' })
  .max(255, { error: 'collection must be at most 255 characters long' })
  .regex(/^[^$\0]+$/, { error: 'collection must not contain $ or NUL' })
  .refine((name) => !name.startsWith('system.'), { error: 'system collections are not sampled' })
  .describe('The collection (or view) to sample.');

export const sampleRequestSchema = z
  .strictObject({
    source: createPipeRequestSchema.shape.source,
    database: databaseName,
    collection: collectionName,
    sampleSize: z
      .number()
      .int({ error: 'sampleSize must be a whole number' })
      .min(1, { error: 'sampleSize must be at least 1' })
      .max(MAX_SAMPLE_SIZE, { error: `sampleSize must be at most ${MAX_SAMPLE_SIZE}` })
      .default(DEFAULT_SAMPLE_SIZE)
      .describe(
        `Documents to read with $sample: 1 to ${MAX_SAMPLE_SIZE}, ${DEFAULT_SAMPLE_SIZE} by default.`,
      ),
    maxPaths: z
      .number()
      .int({ error: 'maxPaths must be a whole number' })
      .min(1, { error: 'maxPaths must be at least 1' })
      .max(MAX_REPORTED_PATHS, { error: `maxPaths must be at most ${MAX_REPORTED_PATHS}` })
      .default(DEFAULT_REPORTED_PATHS)
      .describe(
        `Paths reported at most (those present in the most documents): 1 to ${MAX_REPORTED_PATHS}, ` +
          `${DEFAULT_REPORTED_PATHS} by default.`,
      ),
  })
  .openapi('SampleRequest', {
    description:
      "A collection to sample: the source as in a create request (the same rules: secretArn only in the cloud, the caller must own the secret, the deployment's allowed hosts).",
  });
export type SampleRequestBody = z.output<typeof sampleRequestSchema>;

const sampledType = z
  .string()
  .describe(
    "A BSON type by its $type name (double, string, object, array, binData, objectId, bool, date, null, regex, javascript, int, timestamp, long, decimal, minKey, maxKey…); binData of subtype 4 is 'uuid'.",
  );

const typeShare = z.strictObject({
  type: sampledType,
  count: z.number().int().min(0),
  share: z
    .number()
    .min(0)
    .max(1)
    .describe('count ÷ the documents holding the path (elementTypes: ÷ all elements).'),
});

export const suggestedColumnSchema = z
  .strictObject({
    path: z.string(),
    name: z.string().describe('A strict identifier from the path, not reserved, unique in the answer.'),
    type: z.string().describe('A type of the documented set (docs/table-schema.md).'),
  })
  .openapi('SuggestedColumn', { description: 'A typed column, as a table mapping takes it in columns.' });

const pathReportSchema = z.strictObject({
  path: z.string().describe('Dotted; an array is reported whole and through its first element (<path>.0).'),
  present: z.number().int().min(0).describe('Sampled documents holding the path (null counts as present).'),
  presentShare: z.number().min(0).max(1),
  types: z.array(typeShare),
  elementTypes: z.array(typeShare).optional().describe('Arrays: the types of their elements.'),
  distinctStrings: z
    .number()
    .int()
    .nullable()
    .optional()
    .describe(
      'Distinct strings seen at the path; null when more than 1000 (or one was over 256 characters).',
    ),
  suggestedColumn: z.union([suggestedColumnSchema, z.null()]),
  note: z.string().optional().describe('Why no column is suggested, when none is.'),
});

export const sampleAnswerSchema = z
  .strictObject({
    database: z.string(),
    collection: z.string(),
    sampleSize: z.number().int().describe('Documents asked for.'),
    documents: z
      .number()
      .int()
      .describe('Documents read (fewer in a small collection, or at the byte bound).'),
    bytes: z.number().int().describe('BSON bytes read.'),
    stoppedAtByteLimit: z
      .boolean()
      .describe('The sample stopped early: its documents reached the byte bound.'),
    pathsFound: z
      .number()
      .int()
      .describe('Distinct paths found (past the tracking bound: at least this many).'),
    pathsTruncated: z.boolean().describe('More paths were found than are reported.'),
    unaddressableKeys: z
      .number()
      .int()
      .describe('Keys skipped because no dotted path can name them (a dot inside, or empty).'),
    paths: z.array(pathReportSchema),
    suggestedColumns: z
      .array(suggestedColumnSchema)
      .describe("Every path's suggested column, ready to paste into a table mapping's columns."),
  })
  .openapi('SampleAnswer');
