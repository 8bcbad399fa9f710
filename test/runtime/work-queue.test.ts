import { until } from '../support/until.ts';
import { describe, expect, it } from 'vitest';
import { TerminalError, TransientError, WaitingError } from '../../operator/src/runtime/errors.ts';
import { WorkQueue } from '../../operator/src/runtime/work-queue.ts';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));


describe('WorkQueue', () => {
  it('processes a key added many times once', async () => {
    const seen: string[] = [];
    const q = new WorkQueue(async (k) => void seen.push(k));
    q.add('a');
    q.add('a');
    q.add('b');
    q.add('a');
    await q.idle();
    expect(seen.sort()).toEqual(['a', 'b']);
  });

  it('never runs the same key twice at once, and runs it again when it was added meanwhile', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const q = new WorkQueue(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      runs++;
      await tick(20);
      active--;
    });
    q.add('a');
    await tick(5);
    q.add('a');
    q.add('a');
    await until(() => runs === 2 && active === 0, 2000);
    await q.idle();
    expect(maxActive).toBe(1);
    expect(runs).toBe(2);
  });

  it('bounds how many keys run together', async () => {
    let active = 0;
    let maxActive = 0;
    const q = new WorkQueue(
      async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await tick(10);
        active--;
      },
      { concurrency: 3 },
    );
    for (let i = 0; i < 10; i++) q.add(`k${i}`);
    await q.idle();
    expect(maxActive).toBe(3);
  });

  it('retries transient failures with growing backoff, and stops after success', async () => {
    const times: number[] = [];
    const q = new WorkQueue(
      async () => {
        times.push(Date.now());
        if (times.length < 3) throw new TransientError('not yet');
      },
      { baseDelayMs: 20, jitter: 0 },
    );
    q.add('a');
    await until(() => times.length === 3, 2000);
    await tick(100);
    expect(times).toHaveLength(3);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(times[1]! - times[0]!);
  });

  it('computes exponential backoff with a cap and jitter', () => {
    const q = new WorkQueue(async () => {}, { baseDelayMs: 100, maxDelayMs: 1000, jitter: 0.5, random: () => 1 });
    expect([1, 2, 3, 4, 5, 6].map((n) => q.backoff(n))).toEqual([150, 300, 600, 1200, 1500, 1500]);
  });

  it('does not retry terminal errors, and reports them', async () => {
    let runs = 0;
    const errors: string[] = [];
    const q = new WorkQueue(
      async () => {
        runs++;
        throw new TerminalError('Invalid', 'unknown pipeline');
      },
      { baseDelayMs: 5, onError: (_k, e, kind) => errors.push(`${kind}: ${(e as Error).message}`) },
    );
    q.add('a');
    await q.idle();
    await tick(50);
    expect(runs).toBe(1);
    expect(errors).toEqual(['terminal: unknown pipeline']);
  });

  it('requeues a waiting key after the delay it asks for, without counting it as a failure', async () => {
    const times: number[] = [];
    const errors: unknown[] = [];
    const q = new WorkQueue(
      async () => {
        times.push(Date.now());
        if (times.length === 1) throw new WaitingError(60, 'verify window');
      },
      { onError: (_k, e) => errors.push(e) },
    );
    q.add('a');
    await until(() => times.length === 2, 2000);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(55);
    expect(errors).toEqual([]);
    q.stop();
  });
});

describe('WorkQueue.addAfter', () => {
  it('keeps the earlier time when a key is scheduled twice', async () => {
    const times: number[] = [];
    const start = Date.now();
    const q = new WorkQueue(async () => void times.push(Date.now() - start));
    q.addAfter('a', 30);
    q.addAfter('a', 500);
    await until(() => times.length === 1, 2000);
    expect(times[0]).toBeLessThan(400);
    q.stop();
  });
});
