import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiDocument } from '../../functions/api/document.js';

/**
 * `npm run openapi` writes the document the API's routes generate to functions/api/openapi.json,
 * the copy published with the code (and formats it); test/api/openapi.test.ts fails while it differs.
 */
export const OPENAPI_FILE = join(import.meta.dirname, '..', '..', 'functions', 'api', 'openapi.json');

if (process.argv[1] === import.meta.filename) {
  writeFileSync(OPENAPI_FILE, `${JSON.stringify(apiDocument(), null, 2)}\n`);
  console.log(`wrote ${OPENAPI_FILE}`);
}
