/**
 * A keyed work queue in the style of client-go's: a key queued many times is processed once; the same key
 * never runs twice at once (a key queued while it runs is processed again afterwards); at most
 * `concurrency` keys run together; failures come back with exponential backoff and jitter, reset on success.
 */
import type { WaitingError } from './errors.ts';
import { classify } from './errors.ts';

export type Reconcile = (key: string) => Promise<void>;

export interface WorkQueueOptions {
  concurrency?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** 0..1: a random share of the delay added so that many failures do not retry in lockstep. */
  jitter?: number;
  onError?: (key: string, error: unknown, kind: 'terminal' | 'transient') => void;
  random?: () => number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly running = new Set<string>();
  /** Keys queued again while running: processed once more when the run ends. */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly idleWaiters: (() => void)[] = [];
  private stopped = false;
  private pumpScheduled = false;
  private readonly o: Required<Omit<WorkQueueOptions, 'onError'>> & Pick<WorkQueueOptions, 'onError'>;

  constructor(
    private readonly reconcile: Reconcile,
    options: WorkQueueOptions = {},
  ) {
    this.o = { concurrency: 4, baseDelayMs: 200, maxDelayMs: 60_000, jitter: 0.2, random: Math.random, ...options };
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.schedulePump();
  }

  /** Starting work on the next microtask lets a burst of adds of one key collapse into one run. */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Adds the key after a delay; when the key already waits, the earlier of the two times wins (as client-go's). */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    this.timers.set(key, { at, timer });
  }

  /** The delay before retry number `failures` (1-based). */
  backoff(failures: number): number {
    const base = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (failures - 1));
    return Math.round(base * (1 + this.o.jitter * this.o.random()));
  }

  get length(): number {
    return this.queue.length;
  }

  /** Resolves once nothing is queued or running (timers may still be pending). */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.o.concurrency && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.queued.delete(key);
      this.running.add(key);
      void this.run(key);
    }
    if (this.queue.length === 0 && this.running.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async run(key: string): Promise<void> {
    try {
      await this.reconcile(key);
      this.failures.delete(key);
    } catch (error) {
      const kind = classify(error);
      if (kind === 'waiting') {
        this.failures.delete(key);
        this.addAfter(key, (error as WaitingError).requeueAfterMs);
      } else if (kind === 'terminal') {
        this.failures.delete(key);
        this.o.onError?.(key, error, kind);
      } else {
        const n = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, n);
        this.o.onError?.(key, error, kind);
        this.addAfter(key, this.backoff(n));
      }
    } finally {
      this.running.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}
