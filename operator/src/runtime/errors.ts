/**
 * How a reconcile ends when it does not converge: terminal (stalled; no retry until the object changes),
 * transient (retry with backoff), waiting (not an error: look again after a while).
 */
export class TerminalError extends Error {
  override name = 'TerminalError';
  constructor(
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class TransientError extends Error {
  override name = 'TransientError';
}

export class WaitingError extends Error {
  override name = 'WaitingError';
  constructor(
    readonly requeueAfterMs: number,
    message: string,
  ) {
    super(message);
  }
}

/** Anything unclassified is treated as transient: retrying is safe because reconcile is level-triggered. */
export function classify(error: unknown): 'terminal' | 'transient' | 'waiting' {
  if (error instanceof TerminalError) return 'terminal';
  if (error instanceof WaitingError) return 'waiting';
  return 'transient';
}
