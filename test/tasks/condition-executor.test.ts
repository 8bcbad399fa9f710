import { describe, expect, it } from 'vitest';
import { createConditionExecutor } from '../../operator/src/tasks/condition-executor.ts';
import { SECRET, task, taskContext } from './task-context.ts';

const executor = createConditionExecutor();
const gate = (expression: string, onTrue: 'continue' | 'skip_remaining' | 'fail' = 'continue', onFalse: 'continue' | 'skip_remaining' | 'fail' = 'skip_remaining') =>
  task({ id: 'gate', type: 'condition', evaluate: { expression, onTrue, onFalse } });

describe('condition executor', () => {
  it('takes onTrue when the expression holds', async () => {
    const outcome = await executor.run(taskContext(gate("environment == 'pre' && target.labels.region == 'eu-west'")));
    expect(outcome).toEqual({ status: 'succeeded', branch: 'continue', output: 'true → continue' });
  });

  it('takes onFalse when it does not', async () => {
    const outcome = await executor.run(taskContext(gate("release.version == '2.0.0'", 'continue', 'fail')));
    expect(outcome).toEqual({ status: 'succeeded', branch: 'fail', output: 'false → fail' });
  });

  it('reads earlier results and variables', async () => {
    const context = taskContext(gate("results['smoke'].status == 'succeeded' && variables.RELEASE_VERSION == '1.1.0'", 'skip_remaining'), {
      results: { smoke: { status: 'succeeded', output: '200 OK' } },
    });
    expect(await executor.run(context)).toMatchObject({ branch: 'skip_remaining' });
  });

  it('fails without retry on an expression that is not boolean, with the reason', async () => {
    expect(await executor.run(taskContext(gate('variables.RELEASE_VERSION')))).toEqual({
      status: 'failed',
      retryable: false,
      error: 'the expression must evaluate to a boolean, got string "1.1.0": variables.RELEASE_VERSION',
    });
  });

  it('fails with the CEL error on an invalid expression, masking secret values in it', async () => {
    const outcome = await executor.run(taskContext(gate(`variables.API_TOKEN == '${SECRET}' && results.deploy.status == 'ok'`)));
    expect(outcome).toMatchObject({ status: 'failed', retryable: false, error: expect.stringContaining('No such key: deploy') });
    expect(JSON.stringify(outcome)).not.toContain(SECRET);
  });
});
