import type { Clock } from '../ports/clock.js';

/** How long a run may go on: an absolute deadline, minus a margin kept for the last write. */
export interface Budget {
  /** Epoch milliseconds by which the engine must have returned. */
  deadline: number;
  /** Time kept in hand for the batch in flight and the final writes (default 5 s). */
  safetyMarginMs?: number;
}

export const DEFAULT_SAFETY_MARGIN_MS = 5_000;

export function validateBudget(budget: Budget, what: string): Required<Budget> {
  const safetyMarginMs = budget.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
  if (!Number.isFinite(budget.deadline))
    throw new RangeError(`${what}: budget.deadline must be epoch milliseconds`);
  if (!Number.isFinite(safetyMarginMs) || safetyMarginMs < 0) {
    throw new RangeError(`${what}: budget.safetyMarginMs must be a non-negative number`);
  }
  return { deadline: budget.deadline, safetyMarginMs };
}

/** True while starting one more unit of work still leaves the safety margin. */
export function hasTimeLeft(clock: Clock, budget: Required<Budget>): boolean {
  return budget.deadline - clock.now() > budget.safetyMarginMs;
}
