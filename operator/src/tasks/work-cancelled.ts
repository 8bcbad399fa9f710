/**
 * Why the engine stopped a piece of work, as the reason of the abort signal a task executor sees. The two
 * causes call for opposite things on an agent: a cancelled release must stop the task on the host, while an
 * operator that is stopping (restart, lost leadership) must leave it running — the next leader picks up its
 * journaled result by task id.
 */
export class WorkCancelled extends Error {
  constructor(readonly why: 'cancel' | 'stop', message: string = why === 'cancel' ? 'cancelled' : 'operator stopping') {
    super(message);
  }
}

/** Whether an abort reason asks for the work itself to stop (a cancel), not only for waiting on it. */
export function isCancelRequest(reason: unknown): boolean {
  return reason instanceof WorkCancelled && reason.why === 'cancel';
}
