import { and, asc, desc, eq, type SQL } from 'drizzle-orm';
import type { Database } from './database.ts';
import { dbNow } from './clock.ts';
import { NotFoundError, OptimisticLockError, StateConflictError } from './errors.ts';
import { bumpVersion, byIdAndVersion, insertOnce, updateLocked, type Changes } from './row-writes.ts';
import { deployments, type Deployment, type NewDeployment } from './schema.ts';

/** Superseding has its own method so that the three superseded columns always change together. */
export type DeploymentChanges = Changes<
  NewDeployment,
  'dedupKey' | 'releaseId' | 'superseded' | 'supersededAt' | 'supersededBy'
>;

export interface DeploymentFilter {
  environment?: string;
  target?: string;
}

export function deploymentRepository(db: Database) {
  const getDeployment = async (id: string): Promise<Deployment | undefined> =>
    (await db.select().from(deployments).where(eq(deployments.id, id)))[0];

  const activeOf = (releaseAppId: string, filter: DeploymentFilter) => {
    const conditions: SQL[] = [eq(deployments.releaseAppId, releaseAppId), eq(deployments.superseded, false)];
    if (filter.environment !== undefined) conditions.push(eq(deployments.environment, filter.environment));
    if (filter.target !== undefined) conditions.push(eq(deployments.target, filter.target));
    return db
      .select()
      .from(deployments)
      .where(and(...conditions))
      .orderBy(desc(deployments.createdAt), desc(deployments.id));
  };

  return {
    getDeployment,

    recordDeployment: (input: NewDeployment): Promise<Deployment> =>
      insertOnce(
        'deployments',
        input.dedupKey,
        db.insert(deployments).values(input).onConflictDoNothing({ target: deployments.dedupKey }).returning(),
        async () => (await db.select().from(deployments).where(eq(deployments.dedupKey, input.dedupKey)))[0],
      ),

    updateDeployment: (id: string, expectedLockVersion: number, changes: DeploymentChanges): Promise<Deployment> =>
      updateLocked(
        'deployments',
        id,
        expectedLockVersion,
        db
          .update(deployments)
          .set({ ...changes, ...bumpVersion(deployments) })
          .where(byIdAndVersion(deployments, id, expectedLockVersion))
          .returning(),
        () => getDeployment(id),
      ),

    /**
     * Mark `oldId` superseded by `newId` (the version switch). Runs in whatever transaction this repository is
     * bound to, so the caller records the new deployment and supersedes the old one atomically. Repeating a
     * switch that already happened returns the row; a row superseded by another deployment is a conflict.
     */
    supersedeDeployment: async (oldId: string, newId: string, expectedLockVersion: number): Promise<Deployment> => {
      const [row] = await db
        .update(deployments)
        .set({ superseded: true, supersededAt: dbNow, supersededBy: newId, ...bumpVersion(deployments) })
        .where(and(byIdAndVersion(deployments, oldId, expectedLockVersion), eq(deployments.superseded, false)))
        .returning();
      if (row) return row;
      const current = await getDeployment(oldId);
      if (!current) throw new NotFoundError('deployments', oldId);
      if (current.superseded && current.supersededBy === newId) return current;
      if (current.lockVersion !== expectedLockVersion) {
        throw new OptimisticLockError('deployments', oldId, expectedLockVersion, current.lockVersion);
      }
      throw new StateConflictError('deployments', oldId, 'not superseded', `superseded by ${current.supersededBy}`);
    },

    /** The newest deployment of a release app that no switch has superseded, optionally for one environment or target. */
    getActiveDeployment: async (releaseAppId: string, filter: DeploymentFilter = {}): Promise<Deployment | undefined> =>
      (await activeOf(releaseAppId, filter).limit(1))[0],

    /** All not-superseded deployments of a release app (one per target and environment), newest first. */
    listActiveDeployments: (releaseAppId: string, filter: DeploymentFilter = {}): Promise<Deployment[]> =>
      activeOf(releaseAppId, filter),

    listDeploymentsOfRelease: (releaseId: string): Promise<Deployment[]> =>
      db
        .select()
        .from(deployments)
        .where(eq(deployments.releaseId, releaseId))
        .orderBy(asc(deployments.createdAt), asc(deployments.id)),

    /** Deployments of an app, newest first, optionally on one target. */
    listDeploymentsOfApp: (app: string, options: { target?: string; limit?: number } = {}): Promise<Deployment[]> => {
      const where =
        options.target === undefined
          ? eq(deployments.app, app)
          : and(eq(deployments.app, app), eq(deployments.target, options.target));
      const query = db.select().from(deployments).where(where).orderBy(desc(deployments.createdAt), desc(deployments.id));
      return options.limit === undefined ? query : query.limit(options.limit);
    },
  };
}

export type DeploymentRepository = ReturnType<typeof deploymentRepository>;
