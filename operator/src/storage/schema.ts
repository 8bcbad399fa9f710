/**
 * The history database (SPEC §3 "History, analytics, retention"), one pg-core schema for both drivers.
 * Every history row carries a natural key (Kubernetes uid or a dedup key chosen by the writer) so that a
 * writer that retries after a crash or a reconnect finds its row instead of adding a second one. Rows that
 * are updated carry `lock_version` for optimistic locking.
 */
import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  type AnyPgColumn,
} from 'drizzle-orm/pg-core';
import {
  AGENT_STATUSES,
  APPROVAL_STATUSES,
  DEPLOYMENT_STATUSES,
  INSTALLATION_STATES,
  OPERATIONS,
  RELEASE_PHASES,
  RUN_STATUSES,
  STAGE_PHASES,
  TARGET_TYPES,
} from './status-values.ts';
import { dbNow } from './clock.ts';

export type JsonObject = { [key: string]: unknown };


const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const createdAt = () => tstz('created_at').notNull().default(dbNow);
const updatedAt = () => tstz('updated_at').notNull().default(dbNow);
const lockVersion = () => integer('lock_version').notNull().default(1);

/** CHECK (column IN (...)); values are our own constants, so inlining them as literals is safe. */
function oneOf(name: string, column: AnyPgColumn, values: readonly string[]) {
  const list = values.map((value) => `'${value.replaceAll("'", "''")}'`).join(', ');
  return check(name, sql`${column} in (${sql.raw(list)})`);
}

export const releases = pgTable(
  'releases',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    uid: text('uid').notNull(),
    namespace: text('namespace').notNull(),
    name: text('name').notNull(),
    project: text('project').notNull(),
    version: text('version').notNull(),
    operation: text('operation', { enum: OPERATIONS }).notNull(),
    phase: text('phase', { enum: RELEASE_PHASES }).notNull().default('Pending'),
    currentEnvironment: text('current_environment'),
    createdBy: text('created_by'),
    spec: jsonb('spec').$type<JsonObject>().notNull(),
    analytics: jsonb('analytics').$type<JsonObject>(),
    createdAt: createdAt(),
    startedAt: tstz('started_at'),
    finishedAt: tstz('finished_at'),
    updatedAt: updatedAt(),
    lockVersion: lockVersion(),
  },
  (t) => [
    uniqueIndex('releases_uid_key').on(t.uid),
    index('releases_project_created_at_idx').on(t.project, t.createdAt),
    oneOf('releases_operation_check', t.operation, OPERATIONS),
    oneOf('releases_phase_check', t.phase, RELEASE_PHASES),
  ],
);

export const releaseApps = pgTable(
  'release_apps',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    uid: text('uid').notNull(),
    releaseId: uuid('release_id')
      .notNull()
      .references(() => releases.id),
    namespace: text('namespace').notNull(),
    name: text('name').notNull(),
    app: text('app').notNull(),
    version: text('version').notNull(),
    // ReleaseApp phases belong to the CRD's API types; the history only mirrors them.
    phase: text('phase').notNull().default('Pending'),
    newTag: text('new_tag'),
    newBuild: text('new_build'),
    newTagDetectedAt: tstz('new_tag_detected_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    lockVersion: lockVersion(),
  },
  (t) => [
    uniqueIndex('release_apps_uid_key').on(t.uid),
    index('release_apps_app_idx').on(t.app),
    index('release_apps_release_id_idx').on(t.releaseId),
  ],
);

export const deployments = pgTable(
  'deployments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    dedupKey: text('dedup_key').notNull(),
    releaseId: uuid('release_id')
      .notNull()
      .references(() => releases.id),
    releaseAppId: uuid('release_app_id').references(() => releaseApps.id),
    app: text('app').notNull(),
    environment: text('environment').notNull(),
    /** "namespace/name" of the Target. */
    target: text('target').notNull(),
    targetType: text('target_type', { enum: TARGET_TYPES }).notNull(),
    version: text('version').notNull(),
    previousVersion: text('previous_version'),
    operation: text('operation', { enum: OPERATIONS }).notNull(),
    status: text('status', { enum: DEPLOYMENT_STATUSES }).notNull().default('pending'),
    superseded: boolean('superseded').notNull().default(false),
    supersededAt: tstz('superseded_at'),
    supersededBy: uuid('superseded_by').references((): AnyPgColumn => deployments.id),
    error: text('error'),
    startedAt: tstz('started_at'),
    finishedAt: tstz('finished_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    lockVersion: lockVersion(),
  },
  (t) => [
    uniqueIndex('deployments_dedup_key_key').on(t.dedupKey),
    index('deployments_release_id_created_at_idx').on(t.releaseId, t.createdAt),
    index('deployments_app_target_created_at_idx').on(t.app, t.target, t.createdAt),
    index('deployments_release_app_id_superseded_idx').on(t.releaseAppId, t.superseded),
    oneOf('deployments_target_type_check', t.targetType, TARGET_TYPES),
    oneOf('deployments_operation_check', t.operation, OPERATIONS),
    oneOf('deployments_status_check', t.status, DEPLOYMENT_STATUSES),
    check('deployments_not_superseded_by_itself', sql`${t.supersededBy} is null or ${t.supersededBy} <> ${t.id}`),
  ],
);

export const stageRuns = pgTable(
  'stage_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    dedupKey: text('dedup_key').notNull(),
    deploymentId: uuid('deployment_id')
      .notNull()
      .references(() => deployments.id),
    // Denormalised from the deployment so per-release queries need no join.
    releaseId: uuid('release_id')
      .notNull()
      .references(() => releases.id),
    target: text('target').notNull(),
    environment: text('environment').notNull(),
    stage: text('stage').notNull(),
    phase: text('phase', { enum: STAGE_PHASES }).notNull(),
    status: text('status', { enum: RUN_STATUSES }).notNull().default('pending'),
    attempt: integer('attempt').notNull().default(1),
    error: text('error'),
    startedAt: tstz('started_at'),
    finishedAt: tstz('finished_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    lockVersion: lockVersion(),
  },
  (t) => [
    uniqueIndex('stage_runs_dedup_key_key').on(t.dedupKey),
    index('stage_runs_deployment_id_idx').on(t.deploymentId),
    oneOf('stage_runs_phase_check', t.phase, STAGE_PHASES),
    oneOf('stage_runs_status_check', t.status, RUN_STATUSES),
  ],
);

export const taskRuns = pgTable(
  'task_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    dedupKey: text('dedup_key').notNull(),
    stageRunId: uuid('stage_run_id')
      .notNull()
      .references(() => stageRuns.id),
    releaseId: uuid('release_id')
      .notNull()
      .references(() => releases.id),
    /** The task id from the Pipeline (unique within a stage), not a database id. */
    taskId: text('task_id').notNull(),
    taskName: text('task_name').notNull(),
    type: text('type').notNull(),
    status: text('status', { enum: RUN_STATUSES }).notNull().default('pending'),
    retryCount: integer('retry_count').notNull().default(0),
    outputTail: text('output_tail'),
    error: text('error'),
    startedAt: tstz('started_at'),
    finishedAt: tstz('finished_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    lockVersion: lockVersion(),
  },
  (t) => [
    uniqueIndex('task_runs_dedup_key_key').on(t.dedupKey),
    index('task_runs_stage_run_id_idx').on(t.stageRunId),
    index('task_runs_release_id_idx').on(t.releaseId),
    oneOf('task_runs_status_check', t.status, RUN_STATUSES),
  ],
);

export const statusReports = pgTable(
  'status_reports',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    dedupKey: text('dedup_key').notNull(),
    // No foreign key: agent reports are kept even when they name a release this database does not hold.
    releaseId: uuid('release_id'),
    target: text('target').notNull(),
    agentId: text('agent_id').notNull(),
    // Phase and status are the agent's words (wire protocol), kept as reported.
    phase: text('phase'),
    taskId: text('task_id'),
    taskName: text('task_name'),
    status: text('status').notNull(),
    progress: integer('progress'),
    message: text('message'),
    metrics: jsonb('metrics').$type<JsonObject>(),
    reportedAt: tstz('reported_at').notNull().default(dbNow),
  },
  (t) => [
    uniqueIndex('status_reports_dedup_key_key').on(t.dedupKey),
    index('status_reports_target_reported_at_idx').on(t.target, t.reportedAt),
    index('status_reports_release_id_target_reported_at_idx').on(t.releaseId, t.target, t.reportedAt),
    check('status_reports_progress_check', sql`${t.progress} is null or (${t.progress} between 0 and 100)`),
  ],
);

export const approvals = pgTable(
  'approvals',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    dedupKey: text('dedup_key').notNull(),
    releaseId: uuid('release_id')
      .notNull()
      .references(() => releases.id),
    environment: text('environment').notNull(),
    /** Index into the environment's clusterOrder when the approval gates one step; null for the environment. */
    step: integer('step'),
    status: text('status', { enum: APPROVAL_STATUSES }).notNull().default('pending'),
    approvers: jsonb('approvers').$type<string[]>().notNull().default(sql`'[]'::jsonb`),
    decidedBy: text('decided_by'),
    comment: text('comment'),
    expiresAt: tstz('expires_at'),
    decidedAt: tstz('decided_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    lockVersion: lockVersion(),
  },
  (t) => [
    uniqueIndex('approvals_dedup_key_key').on(t.dedupKey),
    index('approvals_release_id_status_idx').on(t.releaseId, t.status),
    oneOf('approvals_status_check', t.status, APPROVAL_STATUSES),
  ],
);

export const auditEvents = pgTable(
  'audit_events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    dedupKey: text('dedup_key').notNull(),
    /** Kubernetes kind of the object acted on (Release, ReleaseApp, Target, ...). */
    kind: text('kind').notNull(),
    namespace: text('namespace').notNull(),
    name: text('name').notNull(),
    releaseId: uuid('release_id').references(() => releases.id),
    action: text('action').notNull(),
    actor: text('actor'),
    comment: text('comment'),
    target: text('target'),
    details: jsonb('details').$type<JsonObject>(),
    occurredAt: tstz('occurred_at').notNull().default(dbNow),
  },
  (t) => [
    uniqueIndex('audit_events_dedup_key_key').on(t.dedupKey),
    index('audit_events_release_id_occurred_at_idx').on(t.releaseId, t.occurredAt),
    index('audit_events_object_occurred_at_idx').on(t.namespace, t.kind, t.name, t.occurredAt),
  ],
);

export const targetInstallations = pgTable(
  'target_installations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** "namespace/name" of the Target. */
    target: text('target').notNull(),
    app: text('app').notNull(),
    version: text('version'),
    previousVersion: text('previous_version'),
    state: text('state', { enum: INSTALLATION_STATES }).notNull().default('unknown'),
    backupPath: text('backup_path'),
    backupCount: integer('backup_count').notNull().default(0),
    installedAt: tstz('installed_at'),
    updatedAt: updatedAt(),
    lockVersion: lockVersion(),
  },
  (t) => [
    uniqueIndex('target_installations_target_app_key').on(t.target, t.app),
    index('target_installations_app_idx').on(t.app),
    oneOf('target_installations_state_check', t.state, INSTALLATION_STATES),
  ],
);

export const agents = pgTable(
  'agents',
  {
    /** The agent id named by Targets (`spec.agent`). */
    id: text('id').primaryKey(),
    namespace: text('namespace').notNull(),
    credentialHash: text('credential_hash').notNull(),
    credentialIssuedAt: tstz('credential_issued_at').notNull().default(dbNow),
    revokedAt: tstz('revoked_at'),
    version: text('version'),
    capabilities: jsonb('capabilities').$type<string[]>().notNull().default(sql`'[]'::jsonb`),
    status: text('status', { enum: AGENT_STATUSES }).notNull().default('unknown'),
    lastSeenAt: tstz('last_seen_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    lockVersion: lockVersion(),
  },
  (t) => [oneOf('agents_status_check', t.status, AGENT_STATUSES)],
);

export type Release = typeof releases.$inferSelect;
export type NewRelease = typeof releases.$inferInsert;
export type ReleaseApp = typeof releaseApps.$inferSelect;
export type NewReleaseApp = typeof releaseApps.$inferInsert;
export type Deployment = typeof deployments.$inferSelect;
export type NewDeployment = typeof deployments.$inferInsert;
export type StageRun = typeof stageRuns.$inferSelect;
export type NewStageRun = typeof stageRuns.$inferInsert;
export type TaskRun = typeof taskRuns.$inferSelect;
export type NewTaskRun = typeof taskRuns.$inferInsert;
export type StatusReport = typeof statusReports.$inferSelect;
export type NewStatusReport = typeof statusReports.$inferInsert;
export type Approval = typeof approvals.$inferSelect;
export type NewApproval = typeof approvals.$inferInsert;
export type AuditEvent = typeof auditEvents.$inferSelect;
export type NewAuditEvent = typeof auditEvents.$inferInsert;
export type TargetInstallation = typeof targetInstallations.$inferSelect;
export type NewTargetInstallation = typeof targetInstallations.$inferInsert;
export type Agent = typeof agents.$inferSelect;
export type NewAgent = typeof agents.$inferInsert;
