/**
 * The emulator's controllers use the operator's work queue (operator/src/runtime/work-queue.ts): keys added
 * while a pass is pending are coalesced, delayed keys wait on a timer (the earlier time wins), a key never
 * syncs twice at once, and a failed sync is retried with a short exponential backoff. Level-based controllers
 * read current state in `sync`, so handling a key once for many events is enough.
 */
import { WorkQueue as KeyedQueue } from '../../../operator/src/runtime/work-queue.ts';
import { ApiError } from '../errors.ts';

export class WorkQueue extends KeyedQueue {
  constructor(name: string, sync: (key: string) => void) {
    super(async (key) => sync(key), {
      concurrency: 1,
      baseDelayMs: 20,
      maxDelayMs: 5_000,
      jitter: 0,
      // API errors (a conflict, an object gone meanwhile, a namespace being deleted) are expected now and
      // then; anything else is a bug worth seeing. Either way the key is retried from fresh state.
      onError: (key, error) => {
        if (!(error instanceof ApiError)) console.error(`${name}: sync of ${key} failed:`, error);
      },
    });
  }
}
