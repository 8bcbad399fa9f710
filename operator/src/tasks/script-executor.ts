/** `script` on a Kubernetes target: `[interpreter, '-c', script]` in a Job with the task's image. */
import { runJob, type JobRunOptions } from './kubernetes-job.ts';
import { guarded, permanentFailure } from './task-outcome.ts';
import type { TaskExecutor } from './task-executor.ts';

export function createScriptExecutor(options: JobRunOptions = {}): TaskExecutor {
  return {
    type: 'script',
    onRestart: 'reattach',
    run: guarded(async (context) => {
      const spec = context.task.script;
      if (!spec) return permanentFailure(`task ${context.task.id} has no script block`);
      if (!spec.image) {
        return permanentFailure(`script.image is required on Kubernetes targets: task ${context.task.id} runs as a Job, and the Job needs an image with ${spec.interpreter ?? '/bin/bash'}`);
      }
      return await runJob(
        context,
        {
          image: spec.image,
          command: [spec.interpreter ?? '/bin/bash', '-c', spec.script],
          ...(spec.env ? { env: spec.env } : {}),
          ...(spec.workDir ? { workingDir: spec.workDir } : {}),
        },
        options,
      );
    }),
  };
}
