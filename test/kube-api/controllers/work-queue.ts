/**
 * A controller work queue: keys added while a pass is pending are coalesced and handled on the next turn of
 * the event loop (setImmediate), delayed keys wait on a timer, and a key whose sync throws is retried with
 * a short exponential backoff. Level-based controllers read current state in `sync`, so handling a key
 * once for many events is enough.
 */
import { ApiError } from '../errors.ts';

export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private scheduled = false;
  private stopped = false;

  constructor(
    private readonly name: string,
    private readonly sync: (key: string) => void,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    this.pending.add(key);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  /** Handles `key` after `delayMs`; an earlier pending timer for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.delayed.set(key, { at, timer });
  }

  stop(): void {
    this.stopped = true;
    this.pending.clear();
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
  }

  private drain(): void {
    this.scheduled = false;
    if (this.stopped) return;
    const keys = [...this.pending];
    this.pending.clear();
    for (const key of keys) {
      if (this.stopped) return;
      try {
        this.sync(key);
        this.failures.delete(key);
      } catch (error) {
        // API errors (a conflict, an object gone meanwhile, a namespace being deleted) are expected now and
        // then; anything else is a bug worth seeing. Either way the key is retried from fresh state.
        const attempts = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, attempts);
        if (!(error instanceof ApiError)) console.error(`${this.name}: sync of ${key} failed:`, error);
        this.addAfter(key, Math.min(10 * 2 ** attempts, 5_000));
      }
    }
  }
}
