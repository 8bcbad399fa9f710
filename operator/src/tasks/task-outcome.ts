/** Outcomes the executors share: configuration mistakes that retrying cannot fix, and unexpected errors. */
import type { TaskContext, TaskOutcome } from './task-executor.ts';

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A failure no retry can fix (the pipeline or target is wrong, or a decision was final). */
export function permanentFailure(error: string, output?: string): TaskOutcome {
  return { status: 'failed', error, retryable: false, ...(output === undefined ? {} : { output }) };
}

/**
 * An error thrown while running the attempt as a retryable failure (the engine counts retries). An abort is
 * the engine's own doing, so its reason is thrown back instead of being reported as the task's failure.
 */
export function outcomeOfError(context: TaskContext, error: unknown): TaskOutcome {
  if (context.signal.aborted) throw context.signal.reason;
  return { status: 'failed', error: context.mask(errorMessage(error)), retryable: true };
}

/** An executor's `run` with thrown errors turned into outcomes by `outcomeOfError`. */
export function guarded(run: (context: TaskContext) => Promise<TaskOutcome>): (context: TaskContext) => Promise<TaskOutcome> {
  return async (context) => {
    try {
      return await run(context);
    } catch (error) {
      return outcomeOfError(context, error);
    }
  };
}
