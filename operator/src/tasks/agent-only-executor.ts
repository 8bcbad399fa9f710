/**
 * Task types that act on a host (`backup`, `stop_service`, `start_service`) and have no in-cluster meaning:
 * a Kubernetes workload is stopped, started and kept by its controller. They stay in the registry so every
 * task type has an executor and the pipeline fails with a reason instead of an unknown type.
 */
import { permanentFailure } from './task-outcome.ts';
import type { TaskExecutor } from './task-executor.ts';
import type { TaskType } from '../api/pipeline.ts';

export const AGENT_ONLY_TASK_TYPES = ['backup', 'stop_service', 'start_service'] as const satisfies readonly TaskType[];

export function createAgentOnlyExecutor(type: (typeof AGENT_ONLY_TASK_TYPES)[number]): TaskExecutor {
  return {
    type,
    onRestart: 'restart',
    async run(context) {
      return permanentFailure(
        `${type} runs on agent targets (docker, script, gitpull); target ${context.target.name} is a ${context.target.spec.type} target, remove task ${context.task.id} from its pipeline`,
      );
    },
  };
}
