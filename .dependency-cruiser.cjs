// The layer rules of docs/architecture.md ("Layers"), enforced by `npm run lint`
// (depcruise functions local infra cli --config .dependency-cruiser.cjs). One rule per row of the
// table; a violation fails the lint with a non-zero exit. Type-only imports count too
// (tsPreCompilationDeps), so a port cannot lean on an adapter's types either.

/** Packages as dependency-cruiser resolves them (paths under node_modules/). */
const pkg = (...names) => names.map((name) => `^node_modules/${name}/`);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-is-pure',
      comment:
        'functions/core/ is the pure core: it imports only itself and zod. No AWS SDK, mongodb, bson, ' +
        'ClickHouse client, no Node built-ins (no I/O), no other layer.',
      severity: 'error',
      from: { path: '^functions/core/' },
      to: { pathNot: ['^functions/core/', ...pkg('zod')] },
    },
    {
      name: 'ports-import-only-core',
      comment:
        'functions/ports/ holds the interfaces engines and handlers talk to: they import only the core ' +
        '(and each other), never an adapter, an engine or a library.',
      severity: 'error',
      from: { path: '^functions/ports/' },
      to: { pathNot: ['^functions/(core|ports)/'] },
    },
    {
      name: 'adapters-never-import-engines-handlers-api',
      comment:
        'functions/adapters/ only translate between a port and a client library: core, ports and their ' +
        'libraries, never the engines, the handlers or the API.',
      severity: 'error',
      from: { path: '^functions/adapters/' },
      to: { path: '^functions/(engines|handlers|api)/' },
    },
    {
      name: 'engines-import-only-core-and-ports',
      comment:
        'functions/engines/ orchestrate over the ports: core and ports only, no adapter, handler, API and ' +
        'no library but zod. node:crypto (hashes, random ids: no I/O) is the one built-in allowed.',
      severity: 'error',
      from: { path: '^functions/engines/' },
      to: { pathNot: ['^functions/(core|ports|engines)/', ...pkg('zod'), '^(node:)?crypto$'] },
    },
    {
      name: 'api-imports-core-ports-engines-hono',
      comment:
        'functions/api/ validates, pre-checks and starts machines: core, ports, engines, zod, hono and ' +
        '@hono/*, Node built-ins; never an adapter or a handler (the handler builds the adapters).',
      severity: 'error',
      from: { path: '^functions/api/' },
      to: {
        pathNot: ['^functions/(core|ports|engines|api)/', ...pkg('zod', 'hono', '@hono/[^/]+')],
        dependencyTypesNot: ['core'],
      },
    },
    {
      name: 'functions-never-import-outside-functions',
      comment:
        'Code that runs in Lambda (everything in functions/, handlers included) never imports the simulator, ' +
        'the local runtime, tests, benchmarks or the CDK app.',
      severity: 'error',
      from: { path: '^functions/' },
      to: { path: '^(simulator|local|test|bench|infra)/' },
    },
    {
      name: 'local-imports-functions-and-simulator',
      comment:
        'local/ runs functions/ with the simulator and embedded stand-ins; never tests, benchmarks or infra/.',
      severity: 'error',
      from: { path: '^local/' },
      to: { path: '^(test|bench|infra)/' },
    },
    {
      name: 'infra-imports-only-shared-names',
      comment:
        'infra/ points at handler entry files by path (esbuild bundles them); it imports from functions/ only ' +
        'the names and shapes the deployed resources must agree on with the code: the DynamoDB table ' +
        'definition (functions/adapters/dynamodb/table-definition.ts), the environment variable names the ' +
        'adapters read (functions/adapters/*/: e.g. STATE_MACHINE_ARN_ENV) and the metric names the alarms ' +
        'watch (functions/adapters/cloudwatch/). Never the handlers, engines, API or ports, so a synth never ' +
        'loads the runtime code paths.',
      severity: 'error',
      from: { path: '^infra/' },
      to: { path: '^functions/', pathNot: '^functions/adapters/' },
    },
    {
      name: 'cli-talks-only-http',
      comment:
        'cli/ (the `pipes` command line) drives pipes through the HTTP API only: it may import the pure ' +
        'core (functions/core/) for shared types and parsers, never the adapters, ports, engines, handlers, ' +
        'the API code, the local runtime, the simulator, tests, benchmarks or infra/.',
      severity: 'error',
      from: { path: '^cli/' },
      to: { path: '^(functions/(?!core/)|local/|simulator/|test/|bench/|infra/)' },
    },
    {
      name: 'nothing-imports-the-cli',
      comment: 'cli/ is a client of the API; no runtime code depends on it.',
      severity: 'error',
      from: { path: '^(functions|local|infra)/' },
      to: { path: '^cli/' },
    },
    {
      name: 'status-page-reads-only-its-files',
      comment:
        'status-page/ is the status page: its files and the one module that serves them, shared by the ' +
        'local API (local/api/server.ts) and `pipes ui` (cli/ui.ts). It imports Node built-ins only.',
      severity: 'error',
      from: { path: '^status-page/' },
      to: { dependencyTypesNot: ['core'] },
    },
    {
      name: 'no-circular-in-functions',
      comment: 'No import cycles in functions/ (type-only ones included): each layer reads top to bottom.',
      severity: 'error',
      from: { path: '^functions/' },
      to: { circular: true },
    },
    {
      name: 'no-unresolvable',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
