export * from '../../core/store-errors.js';
export { DynamoPipeStore, type DynamoPipeStoreOptions } from './store.js';
export {
  DEFAULT_PIPE_STORE_TABLE_NAME,
  PIPE_STORE_KEYS,
  PIPES_BY_CREATION_INDEX,
  PIPES_BY_STATE_INDEX,
  pipeStoreTableInput,
} from './table-definition.js';
