/**
 * `approval`: holds the target's pipeline until the task's approval is decided. The engine creates the
 * approval request and bounds the wait with the task's timeout through the signal; this only asks for the
 * decision. A rejection or expiry is final: retrying would only ask the same question again.
 */
import { awaitDecision, decisionMessage, DEFAULT_APPROVAL_POLL_MS } from './approval-polling.ts';
import { guarded, permanentFailure } from './task-outcome.ts';
import type { TaskExecutor } from './task-executor.ts';

export interface ApprovalExecutorOptions {
  /** How often to ask for the decision. */
  pollIntervalMs?: number;
}

export function createApprovalExecutor(options: ApprovalExecutorOptions = {}): TaskExecutor {
  const pollMs = options.pollIntervalMs ?? DEFAULT_APPROVAL_POLL_MS;
  return {
    type: 'approval',
    onRestart: 'restart',
    run: guarded(async (context) => {
      const decision = await awaitDecision(context, pollMs);
      if (decision === 'approved') return { status: 'succeeded', output: 'approved' };
      return permanentFailure(decisionMessage(decision));
    }),
  };
}
