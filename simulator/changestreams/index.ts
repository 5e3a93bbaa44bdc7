/** The change stream part's public surface, for STORAGE's aggregate and WIRE's error labels. */
import type { ServerCursor } from '../contract.js';
import { ChangeStreamCursor } from './stream-cursor.js';

export {
  type ChangeStreamCursorOptions,
  type ChangeStreamDeps,
  createChangeStreamOpener,
  type OpenChangeStream,
} from './open.js';
export {
  decodeResumeToken,
  encodeResumeToken,
  highWaterMarkToken,
  type ResumeTokenData,
} from './resume-token.js';
export type { ChangeStreamScope, ChangeStreamTarget } from './scope.js';
export { ChangeStreamCursor } from './stream-cursor.js';

/** True for change stream cursors (their getMore errors may carry ResumableChangeStreamError). */
export function isChangeStreamCursor(cursor: ServerCursor | undefined): boolean {
  return cursor instanceof ChangeStreamCursor;
}
