/**
 * Task executors for agent targets (docker, script, gitpull): the work runs on the agent's host, so the
 * operator's part is to send it and wait for the result. `deploy` sends one install or update per app (by
 * what the history says is installed there), `rollback` one rollback, and the host task types (health
 * checks, backups, scripts, services, cleanup) go as they are; the operator-side task types (notify, wait,
 * approval, condition) run here as for any target. The task id is the history's run key, so an agent that
 * already ran a task answers with its journaled result instead of running it again.
 */
import type { TaskType } from '../api/pipeline.ts';
import type { LogMessage, ProgressMessage, ResultMessage, StatusReportMessage, TaskAssignMessage } from '../protocol/messages.ts';
import { errorMessage, guarded, permanentFailure } from './task-outcome.ts';
import { isCancelRequest } from './work-cancelled.ts';
import type { AgentApp, TaskContext, TaskExecutor, TaskOutcome, TaskRegistry } from './task-executor.ts';

export interface DockerTlsMaterial {
  ca: string;
  cert: string;
  key: string;
}

export interface AgentDispatcher {
  /**
   * The PEMs of a docker Target's `tlsSecretRef` Secret (keys ca.pem, cert.pem, key.pem): the agent reads no
   * Kubernetes Secret, so they travel in the task's config. Fails with a message naming the Secret and key.
   */
  dockerTls?(namespace: string, secretName: string): Promise<DockerTlsMaterial>;
  /** Stops a task running on the agent (a cancelled release); the task's own result reports the cancel. */
  cancel?(agentId: string, taskId: string): Promise<void>;
  dispatch(
    agentId: string,
    task: Omit<TaskAssignMessage, 'v' | 'type'>,
    handlers: { onProgress?(m: ProgressMessage): void; onLog?(m: LogMessage): void; onStatus?(m: StatusReportMessage): void },
    signal: AbortSignal,
  ): Promise<ResultMessage>;
}

export const HOST_TASK_TYPES = ['health_check', 'backup', 'script', 'stop_service', 'start_service', 'cleanup', 'db_migrate'] as const satisfies readonly TaskType[];

/** Per-operation timeouts of SPEC (install 600 s, update 300 s, rollback 180 s, uninstall 120 s). */
const DEFAULT_TIMEOUTS = { install: 600, update: 300, rollback: 180, uninstall: 120 } as const;

type Operation = TaskAssignMessage['operation'];

/** `version`: the version the task installs, when not the ReleaseApp's (a rollback). */
async function configFor(dispatcher: AgentDispatcher, app: AgentApp, context: TaskContext, version: string = app.version): Promise<Record<string, unknown>> {
  const type = context.target.spec.type;
  // The checksum belongs to the ReleaseApp's version: another version's package would fail to verify against it.
  const artifactPackage = app.artifact?.package && version !== app.version ? { url: app.artifact.package.url } : app.artifact?.package;
  if (type === 'docker') {
    const { host, tlsSecretRef } = context.target.spec.docker ?? {};
    if (tlsSecretRef && !dispatcher.dockerTls) throw new Error(`docker target ${context.target.name} names tlsSecretRef ${tlsSecretRef}, and this operator cannot read Secrets for agents`);
    const tls = tlsSecretRef ? await dispatcher.dockerTls!(context.target.namespace, tlsSecretRef) : undefined;
    const engine = { ...(host ? { host } : {}), ...(tls ? { tls } : {}) };
    return { image: app.artifact?.image, ...(app.docker ? { settings: app.docker } : {}), ...(Object.keys(engine).length > 0 ? { engine } : {}) };
  }
  if (type === 'script') return { ...(app.script ? { settings: app.script } : {}), ...(artifactPackage ? { package: artifactPackage } : {}), ...(context.target.spec.script ? { host: context.target.spec.script } : {}) };
  return { ...(app.gitpull ? { settings: app.gitpull } : {}), ...(app.artifact?.git ? { repo: app.artifact.git.repo } : {}), ...(context.target.spec.gitpull ? { host: context.target.spec.gitpull } : {}) };
}

function timeoutFor(app: AgentApp, kind: TaskAssignMessage['kind'], operation: Operation, context: TaskContext): number {
  if (context.task.timeoutSeconds) return context.task.timeoutSeconds;
  if (kind === 'task') return 600;
  return app.script?.timeouts?.[operation] ?? DEFAULT_TIMEOUTS[operation];
}

function outcomeOf(result: ResultMessage, what: string): TaskOutcome {
  const output = result.outputTail;
  if (result.status === 'succeeded') return { status: 'succeeded', ...(output ? { output } : {}) };
  return { status: 'failed', error: `${what}: ${result.status === 'cancelled' ? 'cancelled' : (result.error ?? 'failed')}`, ...(output ? { output } : {}), retryable: false };
}

async function send(dispatcher: AgentDispatcher, context: TaskContext, assign: Omit<TaskAssignMessage, 'v' | 'type'>): Promise<ResultMessage> {
  const agentId = context.target.spec.agent!;
  // Aborting only stops the wait here; a cancelled release must also stop the work on the host.
  const onAbort = () => {
    if (!isCancelRequest(context.signal.reason) || !dispatcher.cancel) return;
    dispatcher.cancel(agentId, assign.taskId).catch((error: unknown) => context.log(`could not cancel task ${assign.taskId} on agent ${agentId}: ${errorMessage(error)}`));
  };
  context.signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await dispatcher.dispatch(agentId, assign, {
      onLog: (m) => { for (const line of m.lines) context.log(line); },
      onProgress: (m) => context.log(`${m.percent}% ${m.phase}${m.message ? `: ${m.message}` : ''}`),
    }, context.signal);
  } finally {
    context.signal.removeEventListener('abort', onAbort);
  }
}

function assignment(context: TaskContext, app: AgentApp, fields: Pick<TaskAssignMessage, 'taskId' | 'kind' | 'operation' | 'targetType' | 'config'> & { currentVersion?: string; version?: string }): Omit<TaskAssignMessage, 'v' | 'type'> {
  // A value the operator's masker changes is a secret: the agent is told which, so it masks them too.
  const secretEnv = Object.keys(context.variables).filter((name) => context.variables[name] !== '' && context.mask(context.variables[name]!) !== context.variables[name]);
  return {
    ...(secretEnv.length > 0 ? { secretEnv } : {}),
    taskId: fields.taskId,
    kind: fields.kind,
    operation: fields.operation,
    targetType: fields.targetType,
    app: app.app,
    version: fields.version ?? app.version,
    ...(fields.currentVersion ? { currentVersion: fields.currentVersion } : {}),
    config: fields.config,
    env: { ...context.variables, APP_NAME: app.app, APP_VERSION: fields.version ?? app.version, ...(fields.currentVersion ? { CURRENT_VERSION: fields.currentVersion } : {}) },
    timeoutSeconds: timeoutFor(app, fields.kind, fields.operation, context),
    releaseRef: { namespace: context.release.namespace, name: context.release.name, uid: context.release.uid },
    environment: context.environment,
    target: context.target.name,
  };
}

/** Install where the app is absent, update where present; an explicit release operation wins. */
function deployOperation(context: TaskContext, app: AgentApp): Operation {
  const requested = context.operation;
  if (requested && requested !== 'deploy') return requested;
  const installed = context.installations?.[app.app];
  return installed?.state === 'installed' ? 'update' : 'install';
}

function deployExecutor(dispatcher: AgentDispatcher): TaskExecutor {
  return {
    type: 'deploy',
    // The agent's journal makes a repeat of the same task id answer with the first result.
    onRestart: 'restart',
    run: guarded(async (context) => {
      const apps = context.apps ?? [];
      if (apps.length === 0) return permanentFailure(`no app of the release is deployed to ${context.target.spec.type} target ${context.target.name}`);
      const outputs: string[] = [];
      for (const app of apps) {
        const operation = deployOperation(context, app);
        const current = context.installations?.[app.app]?.version;
        const result = await send(dispatcher, context, assignment(context, app, {
          taskId: `${context.runKey}/${app.app}`, kind: 'deploy', operation, targetType: context.target.spec.type, config: await configFor(dispatcher, app, context),
          ...(current ? { currentVersion: current } : {}),
        }));
        const outcome = outcomeOf(result, `${operation} of ${app.app} ${app.version} on ${context.target.name}`);
        if (outcome.status === 'failed') return outcome;
        if (outcome.output) outputs.push(outcome.output);
      }
      return { status: 'succeeded', ...(outputs.length ? { output: outputs.join('\n') } : {}) };
    }),
  };
}

function rollbackExecutor(dispatcher: AgentDispatcher): TaskExecutor {
  return {
    type: 'rollback',
    onRestart: 'restart',
    run: guarded(async (context) => {
      for (const app of context.apps ?? []) {
        const current = context.installations?.[app.app];
        const toVersion = context.task.rollback?.targetVersion ?? current?.previousVersion;
        if (!toVersion) return permanentFailure(`no earlier version of ${app.app} is known on ${context.target.name} to roll back to`);
        const result = await send(dispatcher, context, assignment(context, app, {
          taskId: `${context.runKey}/${app.app}`, kind: 'deploy', operation: 'rollback', targetType: context.target.spec.type, config: await configFor(dispatcher, app, context, toVersion), version: toVersion,
          ...(current?.version ? { currentVersion: current.version } : {}),
        }));
        const outcome = outcomeOf(result, `rollback of ${app.app} to ${toVersion} on ${context.target.name}`);
        if (outcome.status === 'failed') return outcome;
      }
      return { status: 'succeeded' };
    }),
  };
}

function hostTaskExecutor(dispatcher: AgentDispatcher, type: (typeof HOST_TASK_TYPES)[number]): TaskExecutor {
  return {
    type,
    onRestart: 'restart',
    run: guarded(async (context) => {
      const app = context.apps?.[0] ?? { app: context.release.project, version: context.release.version };
      const block = blockOf(context, type);
      // The target's host defaults (work dir, user, backup dir) go along: the agent resolves paths with them.
      const host = context.target.spec.type === 'script' ? context.target.spec.script : context.target.spec.type === 'gitpull' ? context.target.spec.gitpull : undefined;
      const result = await send(dispatcher, context, assignment(context, app, {
        taskId: context.runKey, kind: 'task', operation: deployOperation(context, app), targetType: type, config: { ...(block ?? {}), ...(host && type !== 'health_check' ? { host } : {}) },
      }));
      return outcomeOf(result, `${type} task ${context.task.id} on ${context.target.name}`);
    }),
  };
}

function blockOf(context: TaskContext, type: (typeof HOST_TASK_TYPES)[number]): Record<string, unknown> | undefined {
  const task = context.task;
  const blocks: Record<(typeof HOST_TASK_TYPES)[number], unknown> = {
    health_check: task.healthCheck, backup: task.backup, script: task.script, stop_service: task.stopService,
    start_service: task.startService, cleanup: task.cleanup, db_migrate: task.dbMigrate,
  };
  return blocks[type] as Record<string, unknown> | undefined;
}

/**
 * The registry for agent targets: what runs on the host is sent to the agent, the rest (notify, wait,
 * approval, condition) comes from the operator's own registry.
 */
export function createAgentTaskRegistry(base: TaskRegistry, dispatcher: AgentDispatcher): TaskRegistry {
  const registry = new Map(base);
  registry.set('deploy', deployExecutor(dispatcher));
  registry.set('rollback', rollbackExecutor(dispatcher));
  for (const type of HOST_TASK_TYPES) registry.set(type, hostTaskExecutor(dispatcher, type));
  return registry;
}

/** Runs one operation for every app of an agent target outside a pipeline (verification, automatic rollback). */
export async function dispatchToApps(
  dispatcher: AgentDispatcher,
  context: TaskContext,
  operation: 'rollback' | 'task',
  options: { targetType?: string; config?: Record<string, unknown>; version?: (app: AgentApp) => string | undefined },
): Promise<TaskOutcome> {
  for (const app of context.apps ?? []) {
    const version = options.version?.(app);
    if (operation === 'rollback' && !version) return permanentFailure(`no earlier version of ${app.app} is known on ${context.target.name} to roll back to`);
    const current = context.installations?.[app.app]?.version;
    const result = await send(dispatcher, context, assignment(context, app, {
      taskId: `${context.runKey}/${app.app}`, kind: operation === 'task' ? 'task' : 'deploy', operation: operation === 'task' ? deployOperation(context, app) : 'rollback',
      targetType: options.targetType ?? context.target.spec.type, config: options.config ?? (await configFor(dispatcher, app, context, version)),
      ...(version ? { version } : {}), ...(current ? { currentVersion: current } : {}),
    }));
    const outcome = outcomeOf(result, `${operation === 'task' ? options.targetType : 'rollback'} of ${app.app} on ${context.target.name}`);
    if (outcome.status === 'failed') return outcome;
  }
  return { status: 'succeeded' };
}
