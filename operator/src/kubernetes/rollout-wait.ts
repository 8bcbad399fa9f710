/**
 * Following a rollout to its end by polling the workload with GET.
 *
 * Polling rather than a watch: a wait may last minutes and outlive connections to a remote cluster; a GET
 * every few hundred milliseconds per running rollout is cheap for the API server, needs no resync after
 * `410 Expired` or a dropped stream, and a failed read is simply tried again on the next tick. The same loop
 * resumes unchanged after an operator restart, since it keeps no state besides the deadline.
 */
import { rolloutState, WorkloadError, type RolloutState } from '../planning/workload-rollout.ts';
import { apiErrorMessage, WorkloadNotFoundError } from './api-errors.ts';
import type { KubeObject } from './workload-client.ts';
import { sleep } from '../runtime/sleep.ts';

export const DEFAULT_POLL_INTERVAL_MS = 500;

export interface FollowOptions {
  signal: AbortSignal;
  /** Without one the wait lasts until the rollout ends or the signal aborts. */
  timeoutMs?: number;
  onProgress?: (message: string) => void;
  pollIntervalMs?: number;
}

/** Resolves with `done` or `failed` (also for a timeout or a workload that disappeared); rejects only on abort. */
export async function followRollout(read: () => Promise<KubeObject>, options: FollowOptions): Promise<RolloutState> {
  const { signal } = options;
  const interval = Math.max(1, options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
  const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
  let last: string | undefined;
  const report = (message: string) => {
    if (message === last) return;
    last = message;
    options.onProgress?.(message);
  };
  for (;;) {
    signal.throwIfAborted();
    try {
      const state = rolloutState(await abortable(read(), signal, deadline));
      report(state.message);
      if (state.state !== 'progressing') return state;
    } catch (error) {
      signal.throwIfAborted();
      if (error instanceof WorkloadNotFoundError) return { state: 'failed', reason: 'NotFound', message: error.message };
      if (error instanceof WorkloadError) return { state: 'failed', reason: 'Unsupported', message: error.message };
      if (!(error instanceof DeadlineReached)) report(`cannot read the workload, retrying: ${apiErrorMessage(error)}`);
    }
    const left = deadline - Date.now();
    if (left <= 0) return { state: 'failed', reason: 'Timeout', message: `rollout did not finish within ${options.timeoutMs} ms; last status: ${last ?? 'none'}` };
    await sleep(Math.min(interval, left), signal);
  }
}

class DeadlineReached extends Error {}

/** The promise, cut short by the signal (rejects with its reason) or the deadline (an in-flight GET need not be awaited). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal, deadline: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => finish(() => reject(signal.reason));
    const timer = Number.isFinite(deadline) ? setTimeout(() => finish(() => reject(new DeadlineReached())), Math.max(0, deadline - Date.now())) : undefined;
    const finish = (settle: () => void) => {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      settle();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => finish(() => resolve(value)),
      (error: unknown) => finish(() => reject(error)),
    );
  });
}
