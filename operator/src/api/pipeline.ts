/** Pipeline: reusable stages of tasks run per target in the pre_release, release and post_release phases. */
import { Conditions, HealthCheckSpec, Label } from './common.ts';
import { Notifications } from './notifications.ts';
import { PATTERNS } from './patterns.ts';
import { blockRules, Obj, StringEnum, StringMap, StringSet, Type, type Static } from './schema-helpers.ts';

export const STAGE_PHASES = ['pre_release', 'release', 'post_release'] as const;
export type StagePhase = (typeof STAGE_PHASES)[number];
export const ON_ERROR = ['continue', 'stop', 'rollback'] as const;
export const TASK_TYPES = [
  'health_check', 'backup', 'script', 'stop_service', 'start_service', 'deploy', 'rollback',
  'cleanup', 'notify', 'wait', 'approval', 'condition', 'db_migrate',
] as const;
export type TaskType = (typeof TASK_TYPES)[number];

/** The config block each task type carries (camelCase of the type); `required` when it has no sane default. */
export const TASK_BLOCKS: { value: TaskType; block: string; required: boolean }[] = [
  { value: 'health_check', block: 'healthCheck', required: true },
  { value: 'backup', block: 'backup', required: false },
  { value: 'script', block: 'script', required: true },
  { value: 'stop_service', block: 'stopService', required: false },
  { value: 'start_service', block: 'startService', required: false },
  { value: 'rollback', block: 'rollback', required: false },
  { value: 'cleanup', block: 'cleanup', required: false },
  { value: 'notify', block: 'notify', required: true },
  { value: 'wait', block: 'wait', required: true },
  { value: 'approval', block: 'approval', required: true },
  { value: 'condition', block: 'evaluate', required: true },
  { value: 'db_migrate', block: 'dbMigrate', required: true },
];

const ScriptTask = Obj({
  script: Type.String({ minLength: 1, maxLength: 262144, description: 'Script text; variables arrive as environment variables.' }),
  interpreter: Type.String({ minLength: 1, maxLength: 256, default: '/bin/bash' }),
  workDir: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  env: Type.Optional(StringMap({ maxProperties: 200 })),
  image: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'On Kubernetes targets the script runs as a Job with this image.' })),
});

const BackupTask = Obj({
  type: StringEnum(['full', 'incremental', 'config_only'], { default: 'full' }),
  path: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  retention: Type.Integer({ minimum: 1, maximum: 1000, default: 5, description: 'Backups kept per target.' }),
});

const ServiceCommand = (description: string) => Type.String({ minLength: 1, maxLength: 65536, description });
const PidFile = (description: string) => Type.String({ minLength: 1, maxLength: 4096, pattern: PATTERNS.absolutePath.regex, description });

const StopServiceTask = Obj(
  {
    command: Type.Optional(ServiceCommand('Command that stops the service (run by the interpreter, variables as environment).')),
    pidFile: Type.Optional(PidFile('The service process; waited for after the command, and killed when forceKill.')),
    gracefulTimeoutSeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 30 }),
    forceKill: Type.Boolean({ default: true }),
  },
  { rules: [{ rule: 'has(self.command) || has(self.pidFile)', message: 'stop_service needs a command or a pidFile', fieldPath: '.command', reason: 'FieldValueRequired' }] },
);

const StartServiceTask = Obj(
  {
    command: Type.Optional(ServiceCommand('Command that starts the service.')),
    readyCheck: Type.Optional(HealthCheckSpec),
    pidFile: Type.Optional(PidFile('Ready once it names a running process (without readyCheck).')),
    waitReady: Type.Boolean({ default: true }),
    readyTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 60 }),
  },
  { rules: [{ rule: 'has(self.command)', message: 'start_service needs a command', fieldPath: '.command', reason: 'FieldValueRequired' }] },
);

const RollbackTask = Obj({
  targetVersion: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Default: the previous version.' })),
  skipChecks: Type.Boolean({ default: false }),
});

const CleanupTask = Obj({
  keepVersions: Type.Integer({ minimum: 1, maximum: 100, default: 3 }),
  cleanBackups: Type.Boolean({ default: false }),
});

const NotifyWebhook = Obj({
  url: Type.String({ maxLength: 2048, pattern: PATTERNS.httpUrl.regex, description: 'http:// or https:// URL; may hold ${VAR} references.' }),
  method: StringEnum(['POST', 'PUT'], { default: 'POST' }),
  headers: Type.Optional(StringMap({ maxProperties: 50, description: 'Extra request headers; values may hold ${VAR} references.' })),
}, { description: 'Receives a JSON body {release, environment, target, text} with an Idempotency-Key header.' });

const NotifyTask = Obj(
  {
    channels: Type.Optional(StringSet({ minItems: 1, maxItems: 20, itemMaxLength: 63, description: 'Names of notification channels.' })),
    webhook: Type.Optional(NotifyWebhook),
    template: Type.Optional(Type.String({ maxLength: 65536, description: 'Message template; ${VAR} references are resolved.' })),
  },
  { rules: [{ rule: 'has(self.channels) || has(self.webhook)', message: 'notify needs channels or webhook' }] },
);

const WaitTask = Obj(
  {
    durationSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 604800 })),
    untilApproved: Type.Optional(Type.Boolean()),
  },
  { rules: [{ rule: "has(self.durationSeconds) != (has(self.untilApproved) && self.untilApproved)", message: 'exactly one of durationSeconds, untilApproved: true must be set' }] },
);

const ApprovalTask = Obj(
  {
    approvers: Type.Optional(StringSet({ maxItems: 100, itemMaxLength: 253 })),
    groups: Type.Optional(StringSet({ maxItems: 100, itemMaxLength: 253 })),
    timeoutSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 2592000 })),
  },
  { rules: [{ rule: '(has(self.approvers) && self.approvers.size() > 0) || (has(self.groups) && self.groups.size() > 0)', message: 'an approval needs approvers or groups' }] },
);

const BRANCH_ACTIONS = ['continue', 'skip_remaining', 'fail'] as const;
const EvaluateTask = Obj({
  expression: Type.String({ minLength: 1, maxLength: 4096, description: 'CEL expression over variables and earlier results.' }),
  onTrue: StringEnum(BRANCH_ACTIONS, { default: 'continue' }),
  onFalse: StringEnum(BRANCH_ACTIONS, { default: 'skip_remaining' }),
});

const DbMigrateTask = Obj(
  {
    command: Type.Optional(Type.String({ minLength: 1, maxLength: 65536 })),
    migrationPath: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'Exposed as MIGRATION_PATH; without command the image runs its own entrypoint.' })),
    image: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    rollbackOnFail: Type.Boolean({ default: false }),
  },
  { rules: [{ rule: 'has(self.command) || has(self.migrationPath)', message: 'db_migrate needs command or migrationPath' }] },
);

export const Task = Obj(
  {
    id: Label('Unique in the pipeline; dependsOn refers to it.'),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    type: StringEnum(TASK_TYPES),
    timeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })),
    retry: Type.Integer({ minimum: 0, maximum: 20, default: 0 }),
    retryDelaySeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 10 }),
    condition: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'CEL expression; the task is skipped when false.' })),
    dependsOn: Type.Optional(StringSet({ maxItems: 50, itemMaxLength: 63 })),
    healthCheck: Type.Optional(HealthCheckSpec),
    backup: Type.Optional(BackupTask),
    script: Type.Optional(ScriptTask),
    stopService: Type.Optional(StopServiceTask),
    startService: Type.Optional(StartServiceTask),
    rollback: Type.Optional(RollbackTask),
    cleanup: Type.Optional(CleanupTask),
    notify: Type.Optional(NotifyTask),
    wait: Type.Optional(WaitTask),
    approval: Type.Optional(ApprovalTask),
    evaluate: Type.Optional(EvaluateTask),
    dbMigrate: Type.Optional(DbMigrateTask),
  },
  {
    rules: [
      ...blockRules('type', TASK_BLOCKS),
      { rule: '!has(self.dependsOn) || !(self.id in self.dependsOn)', message: 'a task cannot depend on itself', fieldPath: '.dependsOn' },
    ],
  },
);
export type Task = Static<typeof Task>;

export const Stage = Obj({
  name: Label(),
  phase: StringEnum(STAGE_PHASES),
  onError: StringEnum(ON_ERROR, { default: 'stop' }),
  parallel: Type.Boolean({ default: false, description: 'Run tasks concurrently, ordered only by dependsOn.' }),
  tasks: Type.Array(Task, { minItems: 1, maxItems: 50, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['id'] }),
});
export type Stage = Static<typeof Stage>;

export const PipelineSpec = Obj({
  description: Type.Optional(Type.String({ maxLength: 1024 })),
  notifications: Type.Optional(Notifications),
  stages: Type.Array(Stage, { minItems: 1, maxItems: 30, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] }),
});
export type PipelineSpec = Static<typeof PipelineSpec>;

export const PipelineStatus = Obj({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  taskCount: Type.Optional(Type.Integer({ minimum: 0 })),
  conditions: Type.Optional(Conditions),
});
export type PipelineStatus = Static<typeof PipelineStatus>;
