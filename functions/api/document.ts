import type { OpenAPIHono } from '@hono/zod-openapi';
import { apiApp } from './app.js';
import type { ApiDeps } from './deps.js';

type OpenApiDocument = ReturnType<OpenAPIHono['getOpenAPI31Document']>;

/** The document's own parts; paths and components come from the app's routes. */
const DOCUMENT_CONFIG = {
  openapi: '3.1.0',
  jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
  info: {
    title: 'MongoDB to ClickHouse pipes',
    version: '0.1.0',
    description:
      "Create and drive replication pipes. Shaped like ClickPipes' API. Every request is authenticated " +
      'with AWS IAM (SigV4) behind API Gateway; the local runtime serves the same routes on loopback ' +
      'without authentication. A path or method that does not exist gets 404 or 405 (with an Allow header).',
  },
  servers: [{ url: 'http://127.0.0.1:8080', description: 'local runtime (npm start prints the real port)' }],
  security: [{ sigv4: [] }],
};

/** Generating the document serves no request: a dependency touched while generating it is a bug. */
const NOTHING_BEHIND: ApiDeps = new Proxy({} as ApiDeps, {
  get: (_deps, name) => {
    throw new Error(`the OpenAPI document's app serves no requests (it read deps.${String(name)})`);
  },
});

/** The OpenAPI 3.1 document of the app's routes, generated from the zod schemas they parse with. */
export function apiDocument(): OpenApiDocument {
  const app = apiApp(NOTHING_BEHIND, () => 'nobody');
  app.openAPIRegistry.registerComponent('securitySchemes', 'sigv4', {
    type: 'apiKey',
    name: 'Authorization',
    in: 'header',
    description: 'AWS Signature Version 4 (API Gateway IAM authorization).',
  });
  return app.getOpenAPI31Document(DOCUMENT_CONFIG);
}
