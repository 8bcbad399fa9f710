import { asc, eq } from 'drizzle-orm';
import type { Database } from './database.ts';
import {
  approvals,
  auditEvents,
  deployments,
  releaseApps,
  releases,
  stageRuns,
  taskRuns,
  type Approval,
  type AuditEvent,
  type Deployment,
  type Release,
  type ReleaseApp,
  type StageRun,
  type TaskRun,
} from './schema.ts';

export interface StageRunHistory extends StageRun {
  taskRuns: TaskRun[];
}

export interface DeploymentHistory extends Deployment {
  stageRuns: StageRunHistory[];
}

/** Everything recorded about one release; every list is in the order things happened. */
export interface ReleaseHistory {
  release: Release;
  releaseApps: ReleaseApp[];
  deployments: DeploymentHistory[];
  approvals: Approval[];
  auditEvents: AuditEvent[];
}

export function historyRepository(db: Database) {
  return {
    getReleaseHistory: async (releaseId: string): Promise<ReleaseHistory | undefined> => {
      const [release] = await db.select().from(releases).where(eq(releases.id, releaseId));
      if (!release) return undefined;
      // Children are read before their parents: a child row can only commit after its parent (foreign key),
      // so every task run read here finds its stage run and every stage run its deployment, even while the
      // release is running and without a snapshot transaction.
      const tasks = await db
        .select()
        .from(taskRuns)
        .where(eq(taskRuns.releaseId, releaseId))
        .orderBy(asc(taskRuns.createdAt), asc(taskRuns.id));
      const stages = await db
        .select()
        .from(stageRuns)
        .where(eq(stageRuns.releaseId, releaseId))
        .orderBy(asc(stageRuns.createdAt), asc(stageRuns.id));
      const deploymentRows = await db
        .select()
        .from(deployments)
        .where(eq(deployments.releaseId, releaseId))
        .orderBy(asc(deployments.createdAt), asc(deployments.id));
      const apps = await db
        .select()
        .from(releaseApps)
        .where(eq(releaseApps.releaseId, releaseId))
        .orderBy(asc(releaseApps.createdAt), asc(releaseApps.id));
      const approvalRows = await db
        .select()
        .from(approvals)
        .where(eq(approvals.releaseId, releaseId))
        .orderBy(asc(approvals.createdAt), asc(approvals.id));
      const events = await db
        .select()
        .from(auditEvents)
        .where(eq(auditEvents.releaseId, releaseId))
        .orderBy(asc(auditEvents.occurredAt), asc(auditEvents.id));

      const tasksByStage = groupBy(tasks, (task) => task.stageRunId);
      const stagesByDeployment = groupBy(
        stages.map((stage) => ({ ...stage, taskRuns: tasksByStage.get(stage.id) ?? [] })),
        (stage) => stage.deploymentId,
      );
      return {
        release,
        releaseApps: apps,
        deployments: deploymentRows.map((deployment) => ({
          ...deployment,
          stageRuns: stagesByDeployment.get(deployment.id) ?? [],
        })),
        approvals: approvalRows,
        auditEvents: events,
      };
    },
  };
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}

export type HistoryRepository = ReturnType<typeof historyRepository>;
