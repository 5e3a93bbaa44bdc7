/**
 * Member-state rules checked before a command runs, in the order of the real server's
 * `execCommandDatabase`: a read on a non-primary needs secondaryOk (13435), a write needs the
 * primary (10107), and data commands need a PRIMARY or SECONDARY (13436).
 */
import type { Document } from 'bson';
import { CommandError, type MemberState } from '../contract.js';
import type { CommandKind } from './command-kinds.js';

export function secondaryOkRequested(body: Document, secondaryOkFlag: boolean): boolean {
  if (secondaryOkFlag) return true;
  const readPreference = body.$readPreference as Document | undefined;
  return typeof readPreference?.mode === 'string' && readPreference.mode !== 'primary';
}

/** Throws the error the real server returns when `kind` may not run on a member in `state`. */
export function checkMemberState(state: MemberState, kind: CommandKind, secondaryOk: boolean): void {
  if (kind === 'any' || state === 'PRIMARY') return;
  if (kind === 'cursor' && state === 'SECONDARY') return;
  if (kind === 'read' && !secondaryOk) {
    throw new CommandError(13435, 'NotPrimaryNoSecondaryOk', 'not primary and secondaryOk=false');
  }
  if (kind === 'write') {
    throw new CommandError(10107, 'NotWritablePrimary', 'not primary');
  }
  if (state === 'SECONDARY') return;
  const message =
    state === 'RECOVERING' ? 'node is recovering' : 'node is not in primary or recovering state';
  throw new CommandError(13436, 'NotPrimaryOrSecondary', message);
}
