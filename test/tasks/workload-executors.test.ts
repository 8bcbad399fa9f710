import { describe, expect, it } from 'vitest';
import { createCleanupExecutor } from '../../operator/src/tasks/cleanup-executor.ts';
import { createDeployExecutor } from '../../operator/src/tasks/deploy-executor.ts';
import { createRollbackExecutor } from '../../operator/src/tasks/rollback-executor.ts';
import { kubernetesTarget, recordingDriver, task, taskContext } from './task-context.ts';

const deploy = createDeployExecutor();
const rollback = createRollbackExecutor();
const cleanup = createCleanupExecutor();
const deployTask = task({ id: 'deploy-app', type: 'deploy' });
const CAUSE = 'shipway deploy: release shop/shop-1-1-0 version 1.1.0, environment pre, task deploy-app';

describe('deploy executor', () => {
  it('sets the release images with a cause naming release, environment and task, then waits for the rollout', async () => {
    const { driver, calls } = recordingDriver({});
    const lines: string[] = [];
    const outcome = await deploy.run(taskContext(deployTask, { driver, log: (line) => lines.push(line) }));
    expect(calls.map((c) => c.method)).toEqual(['setImages', 'waitForRollout']);
    expect(calls[0]!.args).toEqual([kubernetesTarget, [{ container: 'web', image: 'registry.local/shop/web:1.1.0' }], CAUSE]);
    expect(outcome).toEqual({
      status: 'succeeded',
      output: 'set web=registry.local/shop/web:1.1.0 (was web=registry.local/shop/web:1.0.0); deployment "web" successfully rolled out',
    });
    // Progress is logged once per distinct message.
    expect(lines.filter((l) => l.startsWith('Waiting for deployment'))).toHaveLength(1);
  });

  it('says so when the workload already runs the images', async () => {
    const { driver } = recordingDriver({ setImages: { changed: false, previous: { web: 'registry.local/shop/web:1.1.0' } } });
    expect(await deploy.run(taskContext(deployTask, { driver }))).toEqual({
      status: 'succeeded',
      output: 'already at web=registry.local/shop/web:1.1.0; deployment "web" successfully rolled out',
    });
  });

  it('fails without retry when the rollout exceeded its progress deadline', async () => {
    const { driver } = recordingDriver({ rollout: { state: 'failed', reason: 'ProgressDeadlineExceeded', message: 'deployment "web" exceeded its progress deadline' } });
    expect(await deploy.run(taskContext(deployTask, { driver }))).toMatchObject({
      status: 'failed',
      retryable: false,
      error: 'deployment "web" exceeded its progress deadline (ProgressDeadlineExceeded)',
    });
  });

  it('leaves other rollout failures retryable', async () => {
    const { driver } = recordingDriver({ rollout: { state: 'failed', reason: 'Timeout', message: 'timed out waiting for the rollout' } });
    expect(await deploy.run(taskContext(deployTask, { driver }))).toMatchObject({ status: 'failed', retryable: true });
  });

  it('fails without touching the workload when the release sets no image', async () => {
    const { driver, calls } = recordingDriver({});
    expect(await deploy.run(taskContext(deployTask, { driver, images: [] }))).toMatchObject({ status: 'failed', retryable: false, error: expect.stringContaining('no container image') });
    expect(calls).toEqual([]);
  });

  it('reports a driver error as a retryable failure, masked', async () => {
    const { driver } = recordingDriver({});
    driver.setImages = async () => {
      throw new Error('deployments.apps "web" is forbidden for token s3cr3t-token-value');
    };
    expect(await deploy.run(taskContext(deployTask, { driver }))).toEqual({ status: 'failed', retryable: true, error: 'deployments.apps "web" is forbidden for token ******' });
  });
});

describe('rollback executor', () => {
  it('rolls back to the previous revision without a target version, then waits', async () => {
    const { driver, calls } = recordingDriver({});
    const outcome = await rollback.run(taskContext(task({ id: 'undo', type: 'rollback', rollback: { skipChecks: false } }), { driver }));
    expect(calls.map((c) => c.method)).toEqual(['rollback', 'waitForRollout']);
    expect(calls[0]!.args[1]).toEqual({ cause: 'shipway rollback: release shop/shop-1-1-0 version 1.1.0, environment pre, task undo' });
    expect(outcome).toEqual({
      status: 'succeeded',
      output: 'rolled back to the previous revision: web=registry.local/shop/web:1.0.0; deployment "web" successfully rolled out',
    });
  });

  it('passes the target version on', async () => {
    const { driver, calls } = recordingDriver({ rollback: { images: { web: 'registry.local/shop/web:0.9.0' } } });
    await rollback.run(taskContext(task({ id: 'undo', type: 'rollback', rollback: { targetVersion: '0.9.0', skipChecks: false } }), { driver }));
    expect(calls[0]!.args[1]).toMatchObject({ toVersion: '0.9.0' });
  });

  it('fails without retry when the rolled-back rollout exceeded its deadline', async () => {
    const { driver } = recordingDriver({ rollout: { state: 'failed', reason: 'ProgressDeadlineExceeded', message: 'deployment "web" exceeded its progress deadline' } });
    expect(await rollback.run(taskContext(task({ id: 'undo', type: 'rollback' }), { driver }))).toMatchObject({ status: 'failed', retryable: false });
  });
});

describe('cleanup executor', () => {
  it('keeps keepVersions and lists what it deleted', async () => {
    const { driver, calls } = recordingDriver({ cleanup: { deleted: ['replicaset/web-6f7d', 'replicaset/web-5c4b'] } });
    const outcome = await cleanup.run(taskContext(task({ id: 'tidy', type: 'cleanup', cleanup: { keepVersions: 2, cleanBackups: false } }), { driver }));
    expect(calls[0]!.args[1]).toBe(2);
    expect(outcome).toEqual({ status: 'succeeded', output: 'deleted replicaset/web-6f7d, replicaset/web-5c4b (keeping 2 versions)' });
  });

  it('keeps 3 versions by default and says when nothing was deleted', async () => {
    const { driver, calls } = recordingDriver({});
    expect(await cleanup.run(taskContext(task({ id: 'tidy', type: 'cleanup' }), { driver }))).toEqual({ status: 'succeeded', output: 'nothing to delete (keeping 3 versions)' });
    expect(calls[0]!.args[1]).toBe(3);
  });
});
