/**
 * `wait`: a pause of `durationSeconds` counted from when the task run first started, so an operator that
 * restarts in the middle waits only for what is left; or, with `untilApproved`, until the approval is decided.
 */
import { awaitDecision, decisionMessage, DEFAULT_APPROVAL_POLL_MS } from './approval-polling.ts';
import { sleep } from '../runtime/sleep.ts';
import { guarded, permanentFailure } from './task-outcome.ts';
import type { TaskContext, TaskExecutor, TaskOutcome } from './task-executor.ts';

export interface WaitExecutorOptions {
  /** How often `untilApproved` asks for the decision. */
  approvalPollIntervalMs?: number;
}

export function createWaitExecutor(options: WaitExecutorOptions = {}): TaskExecutor {
  const pollMs = options.approvalPollIntervalMs ?? DEFAULT_APPROVAL_POLL_MS;
  return {
    type: 'wait',
    onRestart: 'restart',
    run: guarded((context) => runWait(context, pollMs)),
  };
}

async function runWait(context: TaskContext, pollMs: number): Promise<TaskOutcome> {
  const spec = context.task.wait;
  if (!spec) return permanentFailure(`task ${context.task.id} has no wait block`);
  if (spec.untilApproved) {
    const decision = await awaitDecision(context, pollMs);
    if (decision === 'approved') return { status: 'succeeded', output: 'approved' };
    return permanentFailure(decisionMessage(decision));
  }
  if (spec.durationSeconds === undefined) return permanentFailure('a wait needs durationSeconds or untilApproved: true');
  const endsAt = context.startedAt.getTime() + spec.durationSeconds * 1000;
  const leftMs = endsAt - context.now().getTime();
  if (leftMs > 0) {
    if (context.resumed) context.log(`resuming the wait: ${Math.ceil(leftMs / 1000)}s of ${spec.durationSeconds}s left`);
    await sleep(leftMs, context.signal);
  }
  return { status: 'succeeded', output: `waited ${spec.durationSeconds}s` };
}
