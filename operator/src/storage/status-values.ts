/**
 * The closed value sets stored in text columns. Each set is enforced twice: by the TypeScript types drizzle
 * infers from `text(..., { enum })` and by a CHECK constraint, so rows written outside this code (psql,
 * another service) cannot smuggle in a value the operator would not understand. Text + CHECK rather than
 * pg enums because adding a value to a CHECK is a plain migration, while ALTER TYPE ... ADD VALUE cannot
 * be used in the same transaction that introduces it.
 */

/** Release `status.phase` (SPEC §2), stored as the custom resource spells it. */
export const RELEASE_PHASES = [
  'Pending',
  'Scheduled',
  'Waiting',
  'Approving',
  'Deploying',
  'Verifying',
  'Paused',
  'Succeeded',
  'Failed',
  'Cancelled',
  'RolledBack',
] as const;
export type ReleasePhase = (typeof RELEASE_PHASES)[number];

export const OPERATIONS = ['deploy', 'install', 'update', 'rollback', 'uninstall'] as const;
export type Operation = (typeof OPERATIONS)[number];

export const TARGET_TYPES = ['kubernetes', 'docker', 'script', 'gitpull'] as const;
export type TargetType = (typeof TARGET_TYPES)[number];

export const DEPLOYMENT_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'cancelled', 'rolled_back'] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

export const STAGE_PHASES = ['pre_release', 'release', 'post_release'] as const;
export type StagePhase = (typeof STAGE_PHASES)[number];

/** Stage and task runs: a skipped run (condition false, onError continue) is not a failure. */
export const RUN_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled', 'timed_out'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'expired'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

export const INSTALLATION_STATES = ['installed', 'uninstalled', 'failed', 'unknown'] as const;
export type InstallationState = (typeof INSTALLATION_STATES)[number];

export const AGENT_STATUSES = ['online', 'offline', 'unknown'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];
