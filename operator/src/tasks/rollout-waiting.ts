/** What `deploy` and `rollback` share: the change cause they record and how a rollout's end becomes an outcome. */
import type { RolloutState } from '../planning/workload-rollout.ts';
import type { TaskContext, TaskOutcome } from './task-executor.ts';

/** The `kubernetes.io/change-cause` text: which release, environment and task changed the workload. */
export function changeCause(context: TaskContext, action: string): string {
  const { release, environment, task } = context;
  return `shipway ${action}: release ${release.namespace}/${release.name} version ${release.version}, environment ${environment}, task ${task.id}`;
}

/**
 * Waits for the workload's rollout. A rollout past its progress deadline stays failed whatever is retried
 * (the same images stay broken), so only other failures (a timeout while still progressing) are retryable.
 */
export async function rolloutOutcome(context: TaskContext, done: string): Promise<TaskOutcome> {
  let last: string | undefined;
  const state = await context.driver.waitForRollout(context.target, {
    signal: context.signal,
    onProgress: (message) => {
      if (message === last) return;
      last = message;
      context.log(message);
    },
  });
  return outcomeOfRollout(state, done);
}

/** How a rollout's end becomes a task outcome; `done` says what was changed before it. */
export function outcomeOfRollout(state: RolloutState, done?: string): TaskOutcome {
  const output = (message: string) => (done ? `${done}; ${message}` : message);
  if (state.state === 'done') return { status: 'succeeded', output: output(state.message) };
  if (state.state === 'failed') {
    return { status: 'failed', error: `${state.message} (${state.reason})`, ...(done ? { output: done } : {}), retryable: state.reason !== 'ProgressDeadlineExceeded' };
  }
  return { status: 'failed', error: `rollout did not finish: ${state.message}`, ...(done ? { output: done } : {}), retryable: true };
}

/** `web=registry/shop/web:1.1.0, side=…` */
export function describeImages(images: Readonly<Record<string, string>>): string {
  const entries = Object.entries(images);
  return entries.length === 0 ? 'no images' : entries.map(([container, image]) => `${container}=${image}`).join(', ');
}
