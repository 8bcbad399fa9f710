/** `cleanup` on a Kubernetes target: delete the workload's old revisions beyond the newest `keepVersions`. */
import { guarded } from './task-outcome.ts';
import type { TaskExecutor } from './task-executor.ts';

const DEFAULT_KEEP_VERSIONS = 3;

export function createCleanupExecutor(): TaskExecutor {
  return {
    type: 'cleanup',
    onRestart: 'restart',
    run: guarded(async (context) => {
      const spec = context.task.cleanup;
      const keep = spec?.keepVersions ?? DEFAULT_KEEP_VERSIONS;
      if (spec?.cleanBackups) context.log('cleanBackups applies to agent targets; a Kubernetes target keeps no backups');
      const { deleted } = await context.driver.cleanup(context.target, keep);
      return { status: 'succeeded', output: deleted.length === 0 ? `nothing to delete (keeping ${keep} versions)` : `deleted ${deleted.join(', ')} (keeping ${keep} versions)` };
    }),
  };
}
