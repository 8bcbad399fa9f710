/**
 * The order of a Pipeline's work on one target, pure: stages by phase (pre_release, release, post_release,
 * each in the order written), tasks by `dependsOn`, and which tasks may start given what has finished.
 * A pipeline without a `deploy` task gets one implicit `deploy` stage where the release phase begins, so
 * that a release always changes the workload and a pipeline only adds checks around it.
 */
import type { PipelineSpec, Stage, StagePhase, Task } from '../api/pipeline.ts';
import { topologicalOrder } from '../validation/dag.ts';

export type TaskState = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

export interface StagePlan {
  name: string;
  phase: StagePhase;
  onError: 'continue' | 'stop' | 'rollback';
  parallel: boolean;
  /** In dependency order. */
  tasks: Task[];
  implicit: boolean;
}

const PHASE_ORDER: readonly StagePhase[] = ['pre_release', 'release', 'post_release'];

export const IMPLICIT_DEPLOY: Task = { id: 'deploy', type: 'deploy', retry: 0, retryDelaySeconds: 10 };

function stagePlan(stage: Stage): StagePlan {
  const byId = new Map(stage.tasks.map((t) => [t.id, t]));
  const graph = new Map(stage.tasks.map((t) => [t.id, (t.dependsOn ?? []).filter((d) => byId.has(d))]));
  return {
    name: stage.name,
    phase: stage.phase,
    onError: stage.onError ?? 'stop',
    parallel: stage.parallel ?? false,
    tasks: topologicalOrder(graph).map((id) => byId.get(id)!),
    implicit: false,
  };
}

/** The stages run on every target, in order. */
export function targetStages(pipeline: PipelineSpec | undefined): StagePlan[] {
  const stages = (pipeline?.stages ?? []).map(stagePlan);
  const ordered = PHASE_ORDER.flatMap((phase) => stages.filter((s) => s.phase === phase));
  if (ordered.some((s) => s.tasks.some((t) => t.type === 'deploy'))) return ordered;
  const at = ordered.findIndex((s) => s.phase !== 'pre_release');
  const deploy: StagePlan = { name: 'deploy', phase: 'release', onError: 'stop', parallel: false, tasks: [IMPLICIT_DEPLOY], implicit: true };
  const index = at === -1 ? ordered.length : at;
  return [...ordered.slice(0, index), deploy, ...ordered.slice(index)];
}

export interface StageStep {
  /** Tasks to start now. */
  start: Task[];
  /** Tasks that will never run, with why (a dependency failed or was skipped, an earlier task failed). */
  skip: { task: Task; reason: string }[];
  /** Every task has an outcome. */
  done: boolean;
  failed: boolean;
}

/**
 * What happens next in a stage. `states` holds the state of every task id of the pipeline seen so far
 * (earlier stages included, since `dependsOn` may name them).
 */
export function nextTasks(stage: StagePlan, states: ReadonlyMap<string, TaskState>): StageStep {
  const step: StageStep = { start: [], skip: [], done: false, failed: false };
  const state = (id: string) => states.get(id) ?? 'pending';
  const skipped = new Set<string>();
  let running = 0;
  let blockedBySequence = false;
  for (const task of stage.tasks) {
    const s = state(task.id);
    if (s === 'running') running++;
    if (s === 'failed') step.failed = true;
    if (s !== 'pending') continue;
    const bad = (task.dependsOn ?? []).find((d) => ['failed', 'skipped'].includes(state(d)) || skipped.has(d));
    if (bad) {
      skipped.add(task.id);
      step.skip.push({ task, reason: `dependency ${bad} ${skipped.has(bad) ? 'skipped' : state(bad)}` });
      continue;
    }
    if (!stage.parallel && step.failed) {
      skipped.add(task.id);
      step.skip.push({ task, reason: 'an earlier task of the stage failed' });
      continue;
    }
    // A dependency the pipeline does not know (validation reports it) does not hold the task back.
    const ready = (task.dependsOn ?? []).every((d) => (!states.has(d) && !stage.tasks.some((t) => t.id === d)) || state(d) === 'succeeded');
    if (stage.parallel) {
      if (ready) step.start.push(task);
    } else if (!blockedBySequence && running === 0 && ready) {
      step.start.push(task);
      blockedBySequence = true;
    } else {
      blockedBySequence = true;
    }
  }
  step.done = step.start.length === 0 && running === 0 && stage.tasks.every((t) => state(t.id) !== 'pending' || skipped.has(t.id));
  return step;
}
