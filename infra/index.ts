/**
 * What a CDK app outside this repository's own (infra/app.ts) imports: the construct, its props
 * and the size presets. `import { MongoClickHousePipes } from '<this repository>/infra/index.js'`.
 */
export type { FunctionFamily } from './function-roles.js';
export {
  MongoClickHousePipes,
  type MongoClickHousePipesProps,
  type PipesAllowedHosts,
  type PipesDefaultDestination,
  type PipesFunctionSizes,
  type PipesVpcPlacement,
} from './mongo-clickhouse-pipes.js';
export { CONNECTING, type FunctionSize, HEAVY, LOG_LEVELS, type LogLevel, SMALL } from './pipe-function.js';
