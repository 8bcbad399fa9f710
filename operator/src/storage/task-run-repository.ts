import { asc, eq } from 'drizzle-orm';
import type { Database } from './database.ts';
import { bumpVersion, byIdAndVersion, insertOnce, updateLocked, type Changes } from './row-writes.ts';
import { taskRuns, type NewTaskRun, type TaskRun } from './schema.ts';

export type TaskRunChanges = Changes<NewTaskRun, 'dedupKey' | 'stageRunId' | 'releaseId'>;

export function taskRunRepository(db: Database) {
  const getTaskRun = async (id: string): Promise<TaskRun | undefined> =>
    (await db.select().from(taskRuns).where(eq(taskRuns.id, id)))[0];

  const getTaskRunByDedupKey = async (dedupKey: string): Promise<TaskRun | undefined> =>
    (await db.select().from(taskRuns).where(eq(taskRuns.dedupKey, dedupKey)))[0];

  return {
    getTaskRun,
    /** Agents and the operator both deduplicate tasks by id: this answers "did this task already run?". */
    getTaskRunByDedupKey,

    recordTaskRun: (input: NewTaskRun): Promise<TaskRun> =>
      insertOnce(
        'task_runs',
        input.dedupKey,
        db.insert(taskRuns).values(input).onConflictDoNothing({ target: taskRuns.dedupKey }).returning(),
        () => getTaskRunByDedupKey(input.dedupKey),
      ),

    updateTaskRun: (id: string, expectedLockVersion: number, changes: TaskRunChanges): Promise<TaskRun> =>
      updateLocked(
        'task_runs',
        id,
        expectedLockVersion,
        db
          .update(taskRuns)
          .set({ ...changes, ...bumpVersion(taskRuns) })
          .where(byIdAndVersion(taskRuns, id, expectedLockVersion))
          .returning(),
        () => getTaskRun(id),
      ),

    listTaskRunsOfStageRun: (stageRunId: string): Promise<TaskRun[]> =>
      db
        .select()
        .from(taskRuns)
        .where(eq(taskRuns.stageRunId, stageRunId))
        .orderBy(asc(taskRuns.createdAt), asc(taskRuns.id)),
  };
}

export type TaskRunRepository = ReturnType<typeof taskRunRepository>;
