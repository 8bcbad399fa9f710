/** Every task type's executor for targets the operator drives itself (Kubernetes workloads). */
import { TASK_TYPES, type TaskType } from '../api/pipeline.ts';
import { AGENT_ONLY_TASK_TYPES, createAgentOnlyExecutor } from './agent-only-executor.ts';
import { createApprovalExecutor } from './approval-executor.ts';
import { createCleanupExecutor } from './cleanup-executor.ts';
import { createConditionExecutor } from './condition-executor.ts';
import { createDbMigrateExecutor } from './db-migrate-executor.ts';
import { createDeployExecutor } from './deploy-executor.ts';
import { createHealthCheckExecutor } from './health-check-executor.ts';
import type { JobRunOptions } from './kubernetes-job.ts';
import { createNotifyExecutor } from './notify-executor.ts';
import { createRollbackExecutor } from './rollback-executor.ts';
import { createScriptExecutor } from './script-executor.ts';
import type { TaskExecutor, TaskRegistry } from './task-executor.ts';
import { createWaitExecutor } from './wait-executor.ts';

export interface TaskRegistryOptions {
  /** How often approval tasks and `wait { untilApproved }` ask for the decision (default 500 ms). */
  approvalPollIntervalMs?: number;
  /** Jobs of `script` and `db_migrate` tasks. */
  jobs?: JobRunOptions;
  /** Bound on one webhook request when the notify task sets no timeout (default 30 s). */
  webhookTimeoutMs?: number;
}

export function createTaskRegistry(options: TaskRegistryOptions = {}): TaskRegistry {
  const executors: TaskExecutor[] = [
    createHealthCheckExecutor(),
    createScriptExecutor(options.jobs),
    createDbMigrateExecutor(options.jobs),
    createDeployExecutor(),
    createRollbackExecutor(),
    createCleanupExecutor(),
    createNotifyExecutor({ requestTimeoutMs: options.webhookTimeoutMs }),
    createWaitExecutor({ approvalPollIntervalMs: options.approvalPollIntervalMs }),
    createApprovalExecutor({ pollIntervalMs: options.approvalPollIntervalMs }),
    createConditionExecutor(),
    ...AGENT_ONLY_TASK_TYPES.map((type) => createAgentOnlyExecutor(type)),
  ];
  const registry = new Map<TaskType, TaskExecutor>(executors.map((executor) => [executor.type, executor]));
  // A new task type in the API must come with its executor; fail at start, not mid-release.
  const missing = TASK_TYPES.filter((type) => !registry.has(type));
  if (missing.length > 0) throw new Error(`no executor for task types ${missing.join(', ')}`);
  return registry;
}
