import { randomUUID } from 'node:crypto';
import { InvalidStoreInputError } from '../../core/store-errors.js';
import type { PartitionRecord, PlanFence } from '../../ports/pipe-store.js';
import { requireText } from './validate.js';

/**
 * Plan ids fence partition writes by plan. A table planned again (a resync, or the table removed
 * and added back) gets its partition items under a new id, so a chunk still running from the
 * earlier plan, whose writes carry the id it loaded, cannot move the new plan's partitions.
 */

/** A fresh id for a newly saved plan. */
export const newPlanId = (): string => randomUUID();

export interface PlanCondition {
  /** Appended to a write's ConditionExpression. */
  expression: string;
  values: Record<string, string>;
}

export function planCondition(fence: PlanFence): PlanCondition {
  if (fence === null || typeof fence !== 'object') {
    throw new InvalidStoreInputError('fence', 'must be an object with a planId');
  }
  // A partition saved before plan ids has none: the writer that loaded it matches only that.
  if (fence.planId === null) return { expression: ' AND attribute_not_exists(planId)', values: {} };
  return {
    expression: ' AND planId = :planId',
    values: { ':planId': requireText(fence.planId, 'fence.planId', 64) },
  };
}

/** Why a fenced write was refused when the partition belongs to another plan now; else undefined. */
export function replannedRefusal(
  current: PartitionRecord,
  fence: PlanFence,
  refused: string,
): string | undefined {
  if ((current.planId ?? null) === fence.planId) return undefined;
  return `was planned again after the writer loaded it (the table was resynced or added back); ${refused}`;
}
