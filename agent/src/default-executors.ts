/**
 * The executors a real agent runs: docker, script, gitpull and the host tasks of pipelines, in the registry
 * that validates each task's config against its executor's schema before it runs.
 */
import { DockerExecutor } from './executors/docker-executor.ts';
import { ExecutorRegistry } from './executors/executor-registry.ts';
import { createGitPullExecutor } from './executors/gitpull-executor.ts';
import { createHostTaskExecutors } from './executors/host-task-executors.ts';
import { createScriptExecutor } from './executors/script-executor.ts';

export function createDefaultExecutors(): ExecutorRegistry {
  return new ExecutorRegistry([new DockerExecutor(), createScriptExecutor(), createGitPullExecutor(), ...createHostTaskExecutors()]);
}
