import { describe, expect, it } from 'vitest';
import { createApprovalExecutor } from '../../operator/src/tasks/approval-executor.ts';
import { approvalSequence, task, taskContext } from './task-context.ts';

const executor = createApprovalExecutor({ pollIntervalMs: 10 });
const signOff = task({ id: 'sign-off', type: 'approval', approval: { approvers: ['alice'] } });

describe('approval executor', () => {
  it('succeeds once approved, asking every poll interval until then', async () => {
    const { approval, calls } = approvalSequence('pending', 'pending', 'pending', 'approved');
    const started = Date.now();
    expect(await executor.run(taskContext(signOff, { approval }))).toEqual({ status: 'succeeded', output: 'approved' });
    expect(calls()).toBe(4);
    expect(Date.now() - started).toBeGreaterThanOrEqual(30);
  });

  it('polls every 500 ms unless told otherwise', async () => {
    const { approval, calls } = approvalSequence('pending', 'approved');
    const started = Date.now();
    await createApprovalExecutor().run(taskContext(signOff, { approval }));
    expect(calls()).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(490);
  });

  it('fails without retry when rejected', async () => {
    const { approval } = approvalSequence('pending', 'rejected');
    expect(await executor.run(taskContext(signOff, { approval }))).toEqual({ status: 'failed', error: 'the approval was rejected', retryable: false });
  });

  it('fails without retry when the approval expired', async () => {
    const { approval } = approvalSequence('expired');
    expect(await executor.run(taskContext(signOff, { approval }))).toEqual({ status: 'failed', error: 'the approval expired before anyone decided', retryable: false });
  });

  it('keeps asking after a failed read, logging it once', async () => {
    let calls = 0;
    const lines: string[] = [];
    const approval = async () => {
      calls++;
      if (calls <= 2) throw new Error('database unavailable');
      return 'approved' as const;
    };
    expect(await executor.run(taskContext(signOff, { approval, log: (line) => lines.push(line) }))).toMatchObject({ status: 'succeeded' });
    expect(lines).toEqual(['reading the approval failed, asking again: database unavailable']);
  });

  it('ends with the abort reason when the task times out', async () => {
    const { approval } = approvalSequence('pending');
    const outcome = executor.run(taskContext(signOff, { approval, signal: AbortSignal.timeout(50) }));
    await expect(outcome).rejects.toMatchObject({ name: 'TimeoutError' });
  });
});
