/**
 * `db_migrate` on a Kubernetes target, as a Job with `dbMigrate.image`: `command` runs with `/bin/sh -c`;
 * without it the image's own entrypoint runs (migration images such as Flyway's or migrate's are built so).
 * `migrationPath`, when set, reaches the container as MIGRATION_PATH.
 */
import { runJob, type JobRunOptions } from './kubernetes-job.ts';
import { guarded, permanentFailure } from './task-outcome.ts';
import type { TaskExecutor } from './task-executor.ts';

export function createDbMigrateExecutor(options: JobRunOptions = {}): TaskExecutor {
  return {
    type: 'db_migrate',
    onRestart: 'reattach',
    run: guarded(async (context) => {
      const spec = context.task.dbMigrate;
      if (!spec) return permanentFailure(`task ${context.task.id} has no dbMigrate block`);
      if (!spec.image) {
        return permanentFailure(`dbMigrate.image is required on Kubernetes targets: task ${context.task.id} runs as a Job, and the Job needs the image holding the migration tool`);
      }
      return await runJob(
        context,
        {
          image: spec.image,
          ...(spec.command ? { command: ['/bin/sh', '-c', spec.command] } : {}),
          ...(spec.migrationPath ? { env: { MIGRATION_PATH: spec.migrationPath } } : {}),
        },
        options,
      );
    }),
  };
}
