/**
 * What a finished deployment task leaves installed, as the agent reports it in its hello and the operator
 * keeps it per agent and executor type: one rule on both sides, so the two records never disagree.
 */
import type { InstalledApp, TaskAssignMessage, TaskOutcome } from './messages.ts';

/** A cancelled task reports what it left behind like a successful one; a failed one marks the app failed. */
export function installedAfter(task: Pick<TaskAssignMessage, 'app' | 'targetType' | 'version' | 'currentVersion'>, outcome: Pick<TaskOutcome, 'status' | 'installed' | 'version'>): InstalledApp {
  const state: InstalledApp['state'] = outcome.status === 'failed' ? 'failed' : outcome.installed ? 'installed' : 'uninstalled';
  const version = outcome.installed ? (outcome.version ?? (outcome.status === 'succeeded' ? task.version : task.currentVersion)) : undefined;
  return { app: task.app, targetType: task.targetType, state, ...(version !== undefined ? { version } : {}) };
}
