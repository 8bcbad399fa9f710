import { describe, expect, it } from 'vitest';
import { createWaitExecutor } from '../../operator/src/tasks/wait-executor.ts';
import { approvalSequence, task, taskContext } from './task-context.ts';

const executor = createWaitExecutor({ approvalPollIntervalMs: 10 });
const pause = (seconds: number) => task({ id: 'pause', type: 'wait', wait: { durationSeconds: seconds } });
const untilApproved = task({ id: 'hold', type: 'wait', wait: { untilApproved: true } });

describe('wait executor', () => {
  it('waits the whole duration when the run starts now', async () => {
    const started = Date.now();
    const outcome = await executor.run(taskContext(pause(1), { startedAt: new Date() }));
    expect(outcome).toEqual({ status: 'succeeded', output: 'waited 1s' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('waits only for what is left after an operator restart', async () => {
    const lines: string[] = [];
    const startedAt = new Date(Date.now() - 59_800);
    const started = Date.now();
    const outcome = await executor.run(taskContext(pause(60), { startedAt, resumed: true, log: (line) => lines.push(line) }));
    expect(outcome).toEqual({ status: 'succeeded', output: 'waited 60s' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(lines).toEqual(['resuming the wait: 1s of 60s left']);
  });

  it('returns at once when the duration has already passed', async () => {
    const started = Date.now();
    await executor.run(taskContext(pause(3600), { startedAt: new Date(Date.now() - 7200_000), resumed: true }));
    expect(Date.now() - started).toBeLessThan(100);
  });

  it('measures time with the context clock', async () => {
    const startedAt = new Date('2026-01-01T00:00:00Z');
    const outcome = await executor.run(taskContext(pause(30), { startedAt, now: () => new Date('2026-01-01T00:00:30Z') }));
    expect(outcome).toMatchObject({ status: 'succeeded' });
  });

  it('ends with the abort reason when the engine aborts it', async () => {
    const controller = new AbortController();
    const running = executor.run(taskContext(pause(600), { signal: controller.signal }));
    controller.abort(new Error('release cancelled'));
    await expect(running).rejects.toThrow('release cancelled');
  });

  it('waits until approved', async () => {
    const { approval, calls } = approvalSequence('pending', 'pending', 'approved');
    expect(await executor.run(taskContext(untilApproved, { approval }))).toEqual({ status: 'succeeded', output: 'approved' });
    expect(calls()).toBe(3);
  });

  it.each([
    ['rejected', 'the approval was rejected'],
    ['expired', 'the approval expired before anyone decided'],
  ] as const)('fails for good when the approval is %s', async (state, error) => {
    const { approval } = approvalSequence('pending', state);
    expect(await executor.run(taskContext(untilApproved, { approval }))).toEqual({ status: 'failed', error, retryable: false });
  });
});
