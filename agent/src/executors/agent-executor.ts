/**
 * The contract of the agent's executors (docker, script, gitpull, and the pipeline tasks that run on a host):
 * each declares the schema of its config, so a task whose config does not fit is refused before anything
 * runs, and runs one operation with what the operator sent. Executors never splice variables into script
 * text: everything reaches the work as environment variables.
 */
import type { TSchema } from '@sinclair/typebox';

export const OPERATIONS = ['install', 'update', 'rollback', 'uninstall'] as const;
export type AgentOperation = (typeof OPERATIONS)[number];

export interface AgentTaskContext {
  /** Unique id of the task (the operator's dedup key): the agent never runs one twice. */
  taskId: string;
  operation: AgentOperation;
  app: string;
  /** The version to install or update to; for rollback, the version to go back to. */
  version: string;
  /** The version installed before this task, when known (CURRENT_VERSION). */
  currentVersion?: string;
  /** Built-in and release variables, passed to the work as environment variables. */
  env: Readonly<Record<string, string>>;
  /** Aborted on cancel, timeout or shutdown: the executor stops its work (killing process groups). */
  signal: AbortSignal;
  /** One line of output (the caller bounds, batches, masks and streams it to the operator). */
  log(line: string): void;
  progress(percent: number, message?: string): void;
  /** The agent's state directory; an executor keeps what it must remember (e.g. the previous image) under it. */
  stateDir: string;
}

export interface AgentTaskResult {
  status: 'succeeded' | 'failed';
  /** The version installed afterwards (absent after an uninstall). */
  version?: string;
  /** The version that was installed before (for a later rollback). */
  previousVersion?: string;
  error?: string;
  /** The last lines of output, bounded. */
  outputTail?: string;
  /** Whether the app is installed on the host after the task. */
  installed: boolean;
}

export interface AgentExecutor<Config = unknown> {
  /** docker | script | gitpull | a host task type (health_check, backup, stop_service, start_service, cleanup, script). */
  readonly type: string;
  readonly configSchema: TSchema;
  run(config: Config, context: AgentTaskContext): Promise<AgentTaskResult>;
}
