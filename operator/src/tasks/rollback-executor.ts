/** `rollback` on a Kubernetes target: back to the given version, else the previous revision; then follow the rollout. */
import { changeCause, describeImages, rolloutOutcome } from './rollout-waiting.ts';
import { guarded } from './task-outcome.ts';
import type { TaskExecutor } from './task-executor.ts';

export function createRollbackExecutor(): TaskExecutor {
  return {
    type: 'rollback',
    onRestart: 'restart',
    run: guarded(async (context) => {
      const toVersion = context.task.rollback?.targetVersion;
      const { images } = await context.driver.rollback(context.target, {
        ...(toVersion === undefined ? {} : { toVersion }),
        cause: changeCause(context, 'rollback'),
      });
      const done = `rolled back ${toVersion === undefined ? 'to the previous revision' : `to version ${toVersion}`}: ${describeImages(images)}`;
      context.log(done);
      return await rolloutOutcome(context, done);
    }),
  };
}
