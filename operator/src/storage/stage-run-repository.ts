import { asc, eq } from 'drizzle-orm';
import type { Database } from './database.ts';
import { bumpVersion, byIdAndVersion, insertOnce, updateLocked, type Changes } from './row-writes.ts';
import { stageRuns, type NewStageRun, type StageRun } from './schema.ts';

export type StageRunChanges = Changes<NewStageRun, 'dedupKey' | 'deploymentId' | 'releaseId'>;

export function stageRunRepository(db: Database) {
  const getStageRun = async (id: string): Promise<StageRun | undefined> =>
    (await db.select().from(stageRuns).where(eq(stageRuns.id, id)))[0];

  return {
    getStageRun,

    recordStageRun: (input: NewStageRun): Promise<StageRun> =>
      insertOnce(
        'stage_runs',
        input.dedupKey,
        db.insert(stageRuns).values(input).onConflictDoNothing({ target: stageRuns.dedupKey }).returning(),
        async () => (await db.select().from(stageRuns).where(eq(stageRuns.dedupKey, input.dedupKey)))[0],
      ),

    updateStageRun: (id: string, expectedLockVersion: number, changes: StageRunChanges): Promise<StageRun> =>
      updateLocked(
        'stage_runs',
        id,
        expectedLockVersion,
        db
          .update(stageRuns)
          .set({ ...changes, ...bumpVersion(stageRuns) })
          .where(byIdAndVersion(stageRuns, id, expectedLockVersion))
          .returning(),
        () => getStageRun(id),
      ),

    listStageRunsOfDeployment: (deploymentId: string): Promise<StageRun[]> =>
      db
        .select()
        .from(stageRuns)
        .where(eq(stageRuns.deploymentId, deploymentId))
        .orderBy(asc(stageRuns.createdAt), asc(stageRuns.id)),
  };
}

export type StageRunRepository = ReturnType<typeof stageRunRepository>;
