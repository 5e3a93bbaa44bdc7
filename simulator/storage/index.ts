/** The storage part's public surface for the composition root and tests. */
export { compareBson } from './bson-order.js';
export { Catalog } from './catalog.js';
export { Collection } from './collection.js';
export type { OpenChangeStream, StorageDeps } from './command-support.js';
export { storageCommands } from './commands.js';
export { CursorRegistryImpl } from './cursors.js';
export { RetryableWrites } from './retryable-writes.js';
export { TransactionManager } from './transactions.js';
