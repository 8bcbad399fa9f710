/** Release: one release batch moved through an ordered list of environments. */
import { Conditions, Label, LocalObjectReference, TargetSelection } from './common.ts';
import { PATTERNS } from './patterns.ts';
import { Obj, StringEnum, StringSet, Type, type Static } from './schema-helpers.ts';
import { Strategy } from './strategy.ts';
import { Notifications } from './notifications.ts';
import { Variables } from './variables.ts';

export const OPERATIONS = ['deploy', 'install', 'update', 'rollback', 'uninstall'] as const;
export const RELEASE_PHASES = [
  'Pending', 'Scheduled', 'Waiting', 'Approving', 'Deploying', 'Verifying', 'Paused',
  'Succeeded', 'Failed', 'Cancelled', 'RolledBack',
] as const;
export type ReleasePhase = (typeof RELEASE_PHASES)[number];
export const TARGET_RUN_PHASES = ['Pending', 'Running', 'Verifying', 'Succeeded', 'Failed', 'Skipped', 'RollingBack', 'RolledBack', 'Cancelled'] as const;
export type TargetRunPhase = (typeof TARGET_RUN_PHASES)[number];
export const DEPLOY_MODES = ['update', 'canary', 'promote', 'blueGreen'] as const;
export type TargetDeployMode = (typeof DEPLOY_MODES)[number];
/** Where an environment is inside its current rollout step. */
export const STEP_STATES = ['Delay', 'Approval', 'Run', 'Verify', 'Promote', 'RollingBack'] as const;
export type StepState = (typeof STEP_STATES)[number];
export const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
const HH_MM = PATTERNS.timeOfDay.regex;

const Approval = Obj(
  {
    required: Type.Boolean({ default: false }),
    approvers: Type.Optional(StringSet({ maxItems: 100, itemMaxLength: 253, description: 'Users who may approve.' })),
    groups: Type.Optional(StringSet({ maxItems: 100, itemMaxLength: 253, description: 'Groups whose members may approve.' })),
    expirySeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 2592000, description: 'An approval request expires after this long.' })),
  },
  {
    rules: [{
      rule: '!self.required || (has(self.approvers) && self.approvers.size() > 0) || (has(self.groups) && self.groups.size() > 0)',
      message: 'a required approval needs approvers or groups',
      fieldPath: '.approvers',
      reason: 'FieldValueRequired',
    }],
  },
);

const WindowRange = Obj(
  {
    days: Type.Array(StringEnum(WEEKDAYS), { minItems: 1, maxItems: 7, 'x-kubernetes-list-type': 'set' }),
    start: Type.String({ pattern: HH_MM, maxLength: 5, description: 'HH:MM, local to the window time zone.' }),
    end: Type.String({ pattern: HH_MM, maxLength: 5, description: 'HH:MM; an end before start crosses midnight.' }),
  },
  { rules: [{ rule: 'self.start != self.end', message: 'start and end must differ', fieldPath: '.end' }] },
);

const ReleaseWindow = Obj({
  timezone: Type.String({ minLength: 1, maxLength: 64, default: 'UTC', pattern: PATTERNS.timeZone.regex, description: 'IANA time zone.' }),
  allowed: Type.Optional(Type.Array(WindowRange, { minItems: 1, maxItems: 50, description: 'When releases may run; absent = any time.' })),
  blackoutDates: Type.Optional(Type.Array(Type.String({ format: 'date', maxLength: 10 }), { maxItems: 366, 'x-kubernetes-list-type': 'set' })),
  emergencyUsers: Type.Optional(StringSet({ maxItems: 100, itemMaxLength: 253, description: 'Users who may release outside the window.' })),
});
export type ReleaseWindow = Static<typeof ReleaseWindow>;

export const Environment = Obj({
  name: Label('Environment name; Targets carry it in spec.environment.'),
  targets: Type.Optional(TargetSelection),
  strategy: Type.Optional(Strategy),
  approval: Type.Optional(Approval),
  window: Type.Optional(ReleaseWindow),
  variables: Type.Optional(Variables),
  promotion: StringEnum(['manual', 'auto'], {
    default: 'manual',
    description: 'auto: starts by itself once the previous environment succeeded (the first one: once the release starts).',
  }),
});
export type Environment = Static<typeof Environment>;

const RollbackCondition = Obj(
  {
    type: StringEnum(['health_check_failed', 'error_rate', 'response_time']),
    threshold: Type.Optional(Type.Number({ minimum: 0, description: 'error_rate: percent; response_time: milliseconds; health_check_failed: failures.' })),
    windowSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: 60 }),
  },
  { rules: [{ rule: "self.type == 'health_check_failed' || has(self.threshold)", message: 'threshold is required for error_rate and response_time', fieldPath: '.threshold', reason: 'FieldValueRequired' }] },
);

const RollbackPolicy = Obj({
  granularity: StringEnum(['all', 'single'], { default: 'all', description: 'Roll back every target, or only the failed one.' }),
  auto: Type.Boolean({ default: false }),
  conditions: Type.Optional(Type.Array(RollbackCondition, { maxItems: 10 })),
  targetVersion: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Default: the previous version.' })),
  migrationGuard: StringEnum(['freeze', 'rollForward'], {
    default: 'freeze',
    description: 'After a db_migrate task ran on a target, an automatic rollback past it is refused: freeze stops the release for a person to decide (a rollback with shipway.dev/force: "true", or a retry); rollForward retries the failed targets once with the new version.',
  }),
});

const Schedule = Obj(
  {
    at: Type.Optional(Type.String({ format: 'date-time', description: 'RFC 3339 time to start.' })),
    cron: Type.Optional(Type.String({ maxLength: 128, pattern: PATTERNS.cron.regex, description: 'Cron expression (5 fields, or 6 with seconds).' })),
    timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: PATTERNS.timeZone.regex })),
  },
  {
    rules: [
      { rule: '[has(self.at), has(self.cron)].exists_one(x, x)', message: 'exactly one of at, cron must be set' },
      { rule: '!has(self.timezone) || has(self.cron)', message: 'timezone is only used with cron (at carries its own offset)', fieldPath: '.timezone', reason: 'FieldValueForbidden' },
    ],
  },
);

export type Schedule = Static<typeof Schedule>;

export const ReleaseSpec = Obj(
  {
    project: Label('Project (application group) this release belongs to.'),
    version: Type.String({ maxLength: 128, pattern: PATTERNS.releaseVersion.regex, description: 'Semantic version, or auto with bump.' }),
    bump: Type.Optional(StringEnum(['major', 'minor', 'patch'], { description: 'With version auto: which part to raise.' })),
    operation: StringEnum(OPERATIONS, { default: 'deploy', description: 'deploy installs where absent and updates where present.' }),
    pipelineRef: Type.Optional(LocalObjectReference),
    variables: Type.Optional(Variables),
    environments: Type.Array(Environment, { minItems: 1, maxItems: 10, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] }),
    rollback: Type.Optional(RollbackPolicy),
    schedule: Type.Optional(Schedule),
    notifications: Type.Optional(Notifications),
    paused: Type.Boolean({ default: false }),
  },
  {
    rules: [
      { rule: "self.version != 'auto' || has(self.bump)", message: 'bump is required when version is auto', fieldPath: '.bump', reason: 'FieldValueRequired' },
      { rule: "!has(self.bump) || self.version == 'auto'", message: 'bump is only allowed when version is auto', fieldPath: '.bump', reason: 'FieldValueForbidden' },
    ],
  },
);
export type ReleaseSpec = Static<typeof ReleaseSpec>;

const Timestamp = () => Type.Optional(Type.String({ format: 'date-time' }));

const TaskResult = Obj({
  id: Type.String({ maxLength: 63 }),
  status: Type.String({ maxLength: 32 }),
  retryCount: Type.Optional(Type.Integer({ minimum: 0 })),
  outputTail: Type.Optional(Type.String({ maxLength: 4096 })),
  error: Type.Optional(Type.String({ maxLength: 4096 })),
  startedAt: Timestamp(),
  finishedAt: Timestamp(),
});

const StageResult = Obj({
  name: Type.String({ maxLength: 63 }),
  phase: Type.String({ maxLength: 32 }),
  status: Type.String({ maxLength: 32 }),
  tasks: Type.Optional(Type.Array(TaskResult, { maxItems: 50 })),
  startedAt: Timestamp(),
  finishedAt: Timestamp(),
});

export const TargetRun = Obj({
  name: Type.String({ maxLength: 253 }),
  phase: StringEnum(TARGET_RUN_PHASES),
  version: Type.Optional(Type.String({ maxLength: 256 })),
  previousVersion: Type.Optional(Type.String({ maxLength: 256 })),
  batch: Type.Optional(Type.Integer({ minimum: 0 })),
  attempt: Type.Optional(Type.Integer({ minimum: 1, description: 'Raised by retry; history rows of each attempt are kept.' })),
  mode: Type.Optional(StringEnum(DEPLOY_MODES, { description: 'update, an in-workload canary, its promotion, or blue-green.' })),
  currentStep: Type.Optional(Type.String({ maxLength: 256 })),
  stages: Type.Optional(Type.Array(StageResult, { maxItems: 30 })),
  error: Type.Optional(Type.String({ maxLength: 4096 })),
  waitingFor: Type.Optional(Type.String({ maxLength: 1024, description: 'Why the target has not started: a dependency of one of its apps.' })),
  waitingSince: Timestamp(),
  migrated: Type.Optional(Type.Boolean({ description: 'A db_migrate task has run on this target: a rollback past it needs force.' })),
  rollbackTo: Type.Optional(Type.String({ maxLength: 128, description: 'The version a requested rollback goes back to (shipway.dev/rollback-version).' })),
  startedAt: Timestamp(),
  finishedAt: Timestamp(),
});

const Emergency = Obj({
  actor: Type.String({ maxLength: 253 }),
  reason: Type.String({ maxLength: 1024 }),
  at: Type.String({ format: 'date-time' }),
}, { description: 'Started as an emergency release: outside the window, without canary verification.' });

export const EnvironmentRun = Obj({
  name: Type.String({ maxLength: 63 }),
  phase: StringEnum(RELEASE_PHASES),
  currentStep: Type.Optional(Type.String({ maxLength: 256 })),
  waitingFor: Type.Optional(Type.String({ maxLength: 1024, description: 'Why the environment waits (window, approval, promotion).' })),
  step: Type.Optional(Type.Integer({ minimum: -1, description: 'Index of the rollout step in progress; -1 before the first (released from Waiting, or at the approval gate).' })),
  stepState: Type.Optional(StringEnum(STEP_STATES)),
  stepSince: Timestamp(),
  waitingUntil: Timestamp(),
  emergency: Type.Optional(Emergency),
  rollbackReason: Type.Optional(Type.String({ maxLength: 4096 })),
  frozen: Type.Optional(Type.String({ maxLength: 4096, description: 'Why a rollback was refused (a db_migrate ran): the release waits for a forced rollback or a retry.' })),
  targets: Type.Optional(Type.Array(TargetRun, { maxItems: 500 })),
  startedAt: Timestamp(),
  finishedAt: Timestamp(),
});

const Alert = Obj({
  level: StringEnum(['info', 'warning', 'error']),
  target: Type.Optional(Type.String({ maxLength: 253 })),
  message: Type.String({ maxLength: 4096 }),
  time: Type.String({ format: 'date-time' }),
});

const Analytics = Obj({
  totalTargets: Type.Integer({ minimum: 0 }),
  succeededTargets: Type.Integer({ minimum: 0 }),
  failedTargets: Type.Integer({ minimum: 0 }),
  pendingTargets: Type.Integer({ minimum: 0 }),
  totalDurationSeconds: Type.Optional(Type.Number({ minimum: 0 })),
  averageTargetDurationSeconds: Type.Optional(Type.Number({ minimum: 0 })),
  phaseDurationsSeconds: Type.Optional(Type.Unsafe<Record<string, number>>({ type: 'object', additionalProperties: { type: 'number' } })),
  healthScore: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
  alerts: Type.Optional(Type.Array(Alert, { maxItems: 50 })),
});

const LastAction = Obj({
  action: Type.String({ maxLength: 32 }),
  actor: Type.Optional(Type.String({ maxLength: 253 })),
  target: Type.Optional(Type.String({ maxLength: 4096, description: 'The target, or several separated by commas.' })),
  result: StringEnum(['Applied', 'Rejected']),
  message: Type.Optional(Type.String({ maxLength: 4096 })),
  at: Type.String({ format: 'date-time' }),
  acknowledged: Type.Optional(Type.Boolean({ description: 'The action annotation has been removed.' })),
});
export type LastAction = Static<typeof LastAction>;

export type TargetRun = Static<typeof TargetRun>;
export type EnvironmentRun = Static<typeof EnvironmentRun>;
export type StageResult = Static<typeof StageResult>;
export type Analytics = Static<typeof Analytics>;

export const ReleaseStatus = Obj({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  phase: Type.Optional(StringEnum(RELEASE_PHASES)),
  currentEnvironment: Type.Optional(Type.String({ maxLength: 63 })),
  version: Type.Optional(Type.String({ maxLength: 128, description: 'The resolved version (after auto).' })),
  scheduledAt: Timestamp(),
  emergency: Type.Optional(Type.Boolean({ description: 'Some environment ran as an emergency release.' })),
  progress: Type.Optional(Type.String({ maxLength: 32, description: 'done/total targets, for kubectl get.' })),
  message: Type.Optional(Type.String({ maxLength: 4096 })),
  startedAt: Timestamp(),
  finishedAt: Timestamp(),
  environments: Type.Optional(Type.Array(EnvironmentRun, { maxItems: 10 })),
  analytics: Type.Optional(Analytics),
  lastAction: Type.Optional(LastAction),
  pausedByAction: Type.Optional(Type.Boolean({ description: 'Paused by a pause action (spec.paused is the user\'s own switch).' })),
  conditions: Type.Optional(Conditions),
});
export type ReleaseStatus = Static<typeof ReleaseStatus>;
