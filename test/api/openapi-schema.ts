import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { apiDocument } from '../../functions/api/document.js';

/** The OpenAPI document the API's routes generate, and validators of its component schemas. */
// biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is walked by path; ajv checks the shapes
export type Json = Record<string, any>;
export const doc: Json = apiDocument();
const SCHEMAS_ID = 'https://pipes.example/openapi/schemas';

/** OpenAPI 3.1 schemas are JSON Schema 2020-12: load the components under one id and validate. */
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
addFormats.default(ajv);
ajv.addKeyword('example');
const rebased = JSON.parse(
  JSON.stringify(doc.components.schemas).replaceAll('"#/components/schemas/', '"#/$defs/'),
);
ajv.addSchema({ $id: SCHEMAS_ID, $defs: rebased });

export function validatorFor(schemaRef: string) {
  const name = schemaRef.replace('#/components/schemas/', '');
  const validate = ajv.getSchema(`${SCHEMAS_ID}#/$defs/${name}`);
  if (!validate) throw new Error(`no schema ${schemaRef}`);
  return validate;
}
