/** Waiting for a decision on the task's approval, shared by `approval` tasks and `wait { untilApproved }`. */
import { sleep } from '../runtime/sleep.ts';
import { errorMessage } from './task-outcome.ts';
import type { ApprovalState, TaskContext } from './task-executor.ts';

export const DEFAULT_APPROVAL_POLL_MS = 500;

/**
 * Asks `context.approval()` every `intervalMs` until the decision is made. A failing read (the history
 * database briefly away) is logged and asked again: a pending approval may wait for days, and one
 * hiccup should not fail it. Ends early only through the signal.
 */
export async function awaitDecision(context: TaskContext, intervalMs: number): Promise<Exclude<ApprovalState, 'pending'>> {
  let lastError: string | undefined;
  for (;;) {
    context.signal.throwIfAborted();
    try {
      const state = await context.approval();
      if (state !== 'pending') return state;
      lastError = undefined;
    } catch (error) {
      const message = errorMessage(error);
      if (message !== lastError) context.log(context.mask(`reading the approval failed, asking again: ${message}`));
      lastError = message;
    }
    await sleep(intervalMs, context.signal);
  }
}

/** Why a pipeline stops at a decision other than approval. */
export function decisionMessage(decision: 'rejected' | 'expired'): string {
  return decision === 'rejected' ? 'the approval was rejected' : 'the approval expired before anyone decided';
}
