/** Polls `check` every 5 ms until it holds; fails the test after `timeoutMs` instead of hanging. */
export async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface EventuallyOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Says what was expected, with whatever helps to see why it did not happen (logs, status). */
  message?: () => string;
}

/** The async form for checks that ask a server: polls every `intervalMs` (default 200) until `check` resolves true. */
export async function eventually(check: () => Promise<boolean>, options: EventuallyOptions = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`condition not met in ${options.timeoutMs ?? 10_000} ms${options.message ? `: ${options.message()}` : ''}`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 200));
  }
}
