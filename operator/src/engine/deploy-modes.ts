/**
 * What `deploy` does in each deploy mode of a rollout step, and which pipeline phases run in it. An
 * in-workload canary runs the pre_release checks and starts `<name>-canary`; its promotion sets the images
 * on the workload, removes the canary and runs the post_release checks. Blue-green deploys the idle colour
 * and switches the Service; the old colour is retired once the post_release checks pass.
 */
import type { StagePhase } from '../api/pipeline.ts';
import type { TargetDeployMode } from '../api/release.ts';
import type { KubernetesWorkloadDriver } from '../kubernetes/workload-driver.ts';
import { changeCause, outcomeOfRollout } from '../tasks/rollout-waiting.ts';
import { guarded } from '../tasks/task-outcome.ts';
import type { TaskContext, TaskExecutor, TaskOutcome } from '../tasks/task-executor.ts';

export const PHASES_OF_MODE: Record<TargetDeployMode, readonly StagePhase[]> = {
  update: ['pre_release', 'release', 'post_release'],
  blueGreen: ['pre_release', 'release', 'post_release'],
  canary: ['pre_release', 'release'],
  promote: ['release', 'post_release'],
};

export function modeDeployExecutor(driver: KubernetesWorkloadDriver, mode: TargetDeployMode, canaryPercent = 10): TaskExecutor {
  return {
    type: 'deploy',
    onRestart: 'restart',
    run: guarded(async (c: TaskContext): Promise<TaskOutcome> => {
      const wait = { signal: c.signal, ...(c.task.timeoutSeconds ? { timeoutMs: c.task.timeoutSeconds * 1000 } : {}), onProgress: c.log };
      switch (mode) {
        case 'canary': {
          const canary = await driver.ensureCanary(c.target, c.images, canaryPercent);
          c.log(`canary ${canary.name}: ${canary.replicas} replica(s) at ${canaryPercent}%`);
          return outcomeOfRollout(await driver.waitForCanary(c.target, wait));
        }
        case 'promote':
          return outcomeOfRollout(await driver.promoteCanary(c.target, c.images, changeCause(c, 'promotion'), wait));
        case 'blueGreen': {
          const green = await driver.deployGreen(c.target, c.images, wait);
          const ready = await driver.waitForRollout(green.target, wait);
          if (ready.state !== 'done') return outcomeOfRollout(ready);
          c.log(`${green.color} (${green.name}) is ready; switching the Service`);
          const switched = await driver.switchService(c.target);
          return { status: 'succeeded', output: `Service routes to ${switched.live}` };
        }
        case 'update':
          throw new Error('update mode uses the registry\'s deploy executor');
      }
    }),
  };
}
