/**
 * What a CDK app outside this repository's own (infra/app.ts) imports: the construct, its props
 * and the size presets. `import { MongoClickHousePipes } from '<this repository>/infra/index.js'`.
 */
export type { FunctionFamily } from './function-roles.js';
export { MongoClickHousePipes } from './mongo-clickhouse-pipes.js';
export type { PipesMonitoring } from './monitoring.js';
export {
  CONNECTING,
  type FunctionSize,
  HEAVY,
  LOG_LEVELS,
  type LogLevel,
  type PipeFunction,
  SMALL,
} from './pipe-function.js';
export type {
  MongoClickHousePipesProps,
  PipesAllowedHosts,
  PipesDefaultDestination,
  PipesFunctionSizes,
  PipesVpcPlacement,
} from './pipes-props.js';
