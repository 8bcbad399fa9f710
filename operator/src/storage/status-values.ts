/**
 * The closed value sets stored in text columns. Each set is enforced twice: by the TypeScript types drizzle
 * infers from `text(..., { enum })` and by a CHECK constraint, so rows written outside this code (psql,
 * another service) cannot smuggle in a value the operator would not understand. Text + CHECK rather than
 * pg enums because adding a value to a CHECK is a plain migration, while ALTER TYPE ... ADD VALUE cannot
 * be used in the same transaction that introduces it.
 */

// Value sets the custom resources define are taken from the API module, so the database and the CRDs agree.
import { STAGE_PHASES, type StagePhase } from '../api/pipeline.ts';
import { DEPLOYMENT_STATUSES } from '../api/release-app.ts';
import { OPERATIONS, RELEASE_PHASES, type ReleasePhase } from '../api/release.ts';
import { INSTALLATION_STATES, TARGET_TYPES, type TargetType } from '../api/target.ts';

export { DEPLOYMENT_STATUSES, INSTALLATION_STATES, OPERATIONS, RELEASE_PHASES, STAGE_PHASES, TARGET_TYPES };
export type { ReleasePhase, StagePhase, TargetType };
export type Operation = (typeof OPERATIONS)[number];
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

/** Stage and task runs: a skipped run (condition false, onError continue) is not a failure. */
export const RUN_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled', 'timed_out'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'expired'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

export type InstallationState = (typeof INSTALLATION_STATES)[number];

export const AGENT_STATUSES = ['online', 'offline', 'unknown'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];
