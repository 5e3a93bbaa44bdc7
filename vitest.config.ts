import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // The product's Logger (functions/handlers/observability.ts) prints nothing during tests;
      // the tests that check its lines raise the level around themselves.
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    },
  },
});
