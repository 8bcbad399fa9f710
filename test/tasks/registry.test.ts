import { describe, expect, it } from 'vitest';
import { TASK_TYPES } from '../../operator/src/api/pipeline.ts';
import { createTaskRegistry } from '../../operator/src/tasks/registry.ts';
import { task, taskContext } from './task-context.ts';

describe('createTaskRegistry', () => {
  const registry = createTaskRegistry({ approvalPollIntervalMs: 10 });

  it('has an executor for every task type, registered under its own type', () => {
    expect([...registry.keys()].sort()).toEqual([...TASK_TYPES].sort());
    for (const [type, executor] of registry) expect(executor.type).toBe(type);
  });

  it('declares what a restart does: Jobs are followed, notifications never repeated, the rest run again', () => {
    const byRestart = (mode: string) => TASK_TYPES.filter((type) => registry.get(type)!.onRestart === mode).sort();
    expect(byRestart('reattach')).toEqual(['db_migrate', 'script']);
    expect(byRestart('at-most-once')).toEqual(['notify']);
    expect(byRestart('restart')).toEqual(
      ['approval', 'backup', 'cleanup', 'condition', 'deploy', 'health_check', 'rollback', 'start_service', 'stop_service', 'wait'],
    );
  });

  it.each(['backup', 'stop_service', 'start_service'] as const)('fails %s for good on a Kubernetes target: it runs on agent targets', async (type) => {
    const outcome = await registry.get(type)!.run(taskContext(task({ id: 'host-step', type })));
    expect(outcome).toEqual({ status: 'failed', retryable: false, error: expect.stringContaining(`${type} runs on agent targets`) });
  });

  it('passes the approval poll interval on to approval tasks', async () => {
    let calls = 0;
    const approval = async () => (++calls < 5 ? ('pending' as const) : ('approved' as const));
    const started = Date.now();
    await registry.get('approval')!.run(taskContext(task({ id: 'sign-off', type: 'approval', approval: { approvers: ['alice'] } }), { approval }));
    expect(Date.now() - started).toBeLessThan(400);
  });
});
