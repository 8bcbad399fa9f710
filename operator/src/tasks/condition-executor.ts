/** `condition`: evaluates the `evaluate` block's CEL expression and tells the engine which branch to take. */
import { evaluateCondition } from '../planning/task-condition.ts';
import { permanentFailure } from './task-outcome.ts';
import type { TaskExecutor } from './task-executor.ts';

export function createConditionExecutor(): TaskExecutor {
  return {
    type: 'condition',
    onRestart: 'restart',
    async run(context) {
      const spec = context.task.evaluate;
      if (!spec) return permanentFailure(`task ${context.task.id} has no evaluate block`);
      const result = evaluateCondition(spec.expression, {
        variables: context.variables,
        results: context.results,
        release: context.release,
        environment: context.environment,
        target: { name: context.target.name, labels: context.target.labels },
      });
      // The same expression over the same data fails the same way every time.
      if ('error' in result) return permanentFailure(context.mask(result.error));
      const branch = result.value ? (spec.onTrue ?? 'continue') : (spec.onFalse ?? 'skip_remaining');
      return { status: 'succeeded', branch, output: `${result.value} → ${branch}` };
    },
  };
}
