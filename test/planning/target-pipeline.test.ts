import { describe, expect, it } from 'vitest';
import type { PipelineSpec, Task } from '../../operator/src/api/pipeline.ts';
import { nextTasks, targetStages, type StagePlan, type TaskState } from '../../operator/src/planning/target-pipeline.ts';

const task = (id: string, type: Task['type'] = 'wait', dependsOn?: string[]): Task => ({ id, type, retry: 0, retryDelaySeconds: 10, ...(dependsOn ? { dependsOn } : {}) });
const stage = (name: string, phase: 'pre_release' | 'release' | 'post_release', tasks: Task[], parallel = false) => ({ name, phase, onError: 'stop' as const, parallel, tasks });

describe('targetStages', () => {
  it('orders stages by phase and keeps the written order inside a phase', () => {
    const p: PipelineSpec = { stages: [stage('verify', 'post_release', [task('hc')]), stage('ship', 'release', [task('deploy', 'deploy')]), stage('backup', 'pre_release', [task('b')])] };
    expect(targetStages(p).map((s) => s.name)).toEqual(['backup', 'ship', 'verify']);
  });

  it.each<[string, PipelineSpec | undefined, string[]]>([
    ['no pipeline: only the implicit deploy', undefined, ['deploy*']],
    ['pre_release checks come before the implicit deploy', { stages: [stage('check', 'pre_release', [task('c')]), stage('verify', 'post_release', [task('v')])] }, ['check', 'deploy*', 'verify']],
    ['only post_release stages: deploy first', { stages: [stage('verify', 'post_release', [task('v')])] }, ['deploy*', 'verify']],
  ])('%s', (_, pipeline, names) => {
    expect(targetStages(pipeline).map((s) => `${s.name}${s.implicit ? '*' : ''}`)).toEqual(names);
  });

  it('orders tasks by dependsOn', () => {
    const [s] = targetStages({ stages: [stage('s', 'release', [task('c', 'wait', ['b']), task('b', 'wait', ['a']), task('a', 'deploy')])] });
    expect(s!.tasks.map((t) => t.id)).toEqual(['a', 'b', 'c']);
  });
});

describe('nextTasks', () => {
  const seq: StagePlan = { name: 's', phase: 'release', onError: 'stop', parallel: false, implicit: false, tasks: [task('a'), task('b'), task('c')] };
  const par: StagePlan = { ...seq, parallel: true, tasks: [task('a'), task('b'), task('c', 'wait', ['a', 'b'])] };
  const run = (s: StagePlan, states: Record<string, TaskState>) => {
    const r = nextTasks(s, new Map(Object.entries(states)));
    return { start: r.start.map((t) => t.id), skip: r.skip.map((x) => `${x.task.id}: ${x.reason}`), done: r.done, failed: r.failed };
  };

  it.each<[string, StagePlan, Record<string, TaskState>, ReturnType<typeof run>]>([
    ['sequential: the first task', seq, {}, { start: ['a'], skip: [], done: false, failed: false }],
    ['sequential: one at a time', seq, { a: 'running' }, { start: [], skip: [], done: false, failed: false }],
    ['sequential: the next after success', seq, { a: 'succeeded' }, { start: ['b'], skip: [], done: false, failed: false }],
    ['sequential: a failure skips the rest', seq, { a: 'failed' }, { start: [], skip: ['b: an earlier task of the stage failed', 'c: an earlier task of the stage failed'], done: true, failed: true }],
    ['sequential: all finished', seq, { a: 'succeeded', b: 'skipped', c: 'succeeded' }, { start: [], skip: [], done: true, failed: false }],
    ['parallel: independent tasks together', par, {}, { start: ['a', 'b'], skip: [], done: false, failed: false }],
    ['parallel: a join waits for both', par, { a: 'succeeded', b: 'running' }, { start: [], skip: [], done: false, failed: false }],
    ['parallel: the join starts', par, { a: 'succeeded', b: 'succeeded' }, { start: ['c'], skip: [], done: false, failed: false }],
    ['parallel: a failed dependency skips the join', par, { a: 'failed', b: 'succeeded' }, { start: [], skip: ['c: dependency a failed'], done: true, failed: true }],
  ])('%s', (_, s, states, expected) => {
    expect(run(s, states)).toEqual(expected);
  });
});
