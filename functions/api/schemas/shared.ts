import { z } from '@hono/zod-openapi';

/** Times in views are ISO 8601 text (UTC). */
export const dateTime = z.iso.datetime();

/**
 * A named schema or null. Not `.nullable()`: on a schema named with `.openapi(name)` that makes
 * the name's component itself nullable, or an allOf no null can pass.
 */
export const orNull = <T extends z.ZodType>(schema: T) => z.union([schema, z.null()]);
