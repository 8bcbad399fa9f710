/** `deploy` on a Kubernetes target: set the release's images on the workload, then follow its rollout. */
import { changeCause, describeImages, rolloutOutcome } from './rollout-waiting.ts';
import { guarded, permanentFailure } from './task-outcome.ts';
import type { TaskContext, TaskExecutor, TaskOutcome } from './task-executor.ts';

export function createDeployExecutor(): TaskExecutor {
  return {
    type: 'deploy',
    // Setting an image that is already set changes nothing, so running it again after a restart is safe.
    onRestart: 'restart',
    run: guarded((context) => runDeploy(context)),
  };
}

async function runDeploy(context: TaskContext): Promise<TaskOutcome> {
  if (context.images.length === 0) {
    return permanentFailure(`the release sets no container image for target ${context.target.name}, so deploy has nothing to roll out`);
  }
  const { changed, previous } = await context.driver.setImages(context.target, context.images, changeCause(context, 'deploy'));
  const wanted = context.images.map((change) => (change.container ? `${change.container}=${change.image}` : change.image)).join(', ');
  const done = changed ? `set ${wanted} (was ${describeImages(previous)})` : `already at ${wanted}`;
  context.log(done);
  return rolloutOutcome(context, done);
}
