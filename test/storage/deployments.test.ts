import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { NotFoundError, OptimisticLockError, StateConflictError } from '../../operator/src/storage/errors.ts';
import { deployments, stageRuns, taskRuns } from '../../operator/src/storage/schema.ts';
import {
  deploymentInput,
  releaseAppInput,
  releaseInput,
  seedDeployment,
  stageRunInput,
  taskRunInput,
  unique,
} from '../support/storage-fixtures.ts';
import { describeOnEachDriver } from '../support/test-databases.ts';

const MISSING_ID = '00000000-0000-4000-8000-000000000000';

describeOnEachDriver('deployment history', (database) => {
  describe('deployments', () => {
    it('records a deployment once per dedup key', async () => {
      const { release, releaseApp, deployment } = await seedDeployment(database.repository);
      const again = await database.repository.recordDeployment(
        deploymentInput(release, releaseApp, { dedupKey: deployment.dedupKey, version: 'other' }),
      );

      expect(deployment).toMatchObject({ status: 'pending', superseded: false, supersededBy: null, lockVersion: 1 });
      expect(again).toEqual(deployment);
      expect(await database.db.$count(deployments, eq(deployments.dedupKey, deployment.dedupKey))).toBe(1);
      expect(await database.repository.getDeployment(deployment.id)).toEqual(deployment);
    });

    it('updates a deployment under optimistic locking', async () => {
      const { deployment } = await seedDeployment(database.repository);
      const running = await database.repository.updateDeployment(deployment.id, 1, {
        status: 'running',
        startedAt: new Date('2026-03-01T10:00:00.000Z'),
      });
      const failed = await database.repository.updateDeployment(deployment.id, running.lockVersion, {
        status: 'failed',
        error: 'health check failed',
        finishedAt: new Date('2026-03-01T10:05:00.000Z'),
      });

      expect(failed).toMatchObject({ status: 'failed', error: 'health check failed', lockVersion: 3 });
      await expect(database.repository.updateDeployment(deployment.id, 2, { status: 'succeeded' })).rejects.toMatchObject({
        name: 'OptimisticLockError',
        table: 'deployments',
        expectedLockVersion: 2,
        actualLockVersion: 3,
      });
      await expect(database.repository.updateDeployment(MISSING_ID, 1, { status: 'failed' })).rejects.toBeInstanceOf(
        NotFoundError,
      );
    });

    it('switches a release app to a new version in one transaction: the old deployment is superseded by the new one', async () => {
      const { release, releaseApp, deployment: old } = await seedDeployment(database.repository);

      const { created, superseded } = await database.repository.transaction(async (tx) => {
        const created = await tx.recordDeployment(deploymentInput(release, releaseApp, { version: 'v2' }));
        const superseded = await tx.supersedeDeployment(old.id, created.id, old.lockVersion);
        return { created, superseded };
      });

      expect(superseded).toMatchObject({ id: old.id, superseded: true, supersededBy: created.id, lockVersion: 2 });
      expect(superseded.supersededAt).toBeInstanceOf(Date);
      expect(await database.repository.getActiveDeployment(releaseApp.id)).toEqual(created);
      expect(await database.repository.listActiveDeployments(releaseApp.id)).toEqual([created]);
    });

    it('returns the row when the same switch is repeated, and refuses a competing switch made from a stale read', async () => {
      const { release, releaseApp, deployment: old } = await seedDeployment(database.repository);
      const first = await database.repository.recordDeployment(deploymentInput(release, releaseApp, { version: 'v2' }));
      const superseded = await database.repository.supersedeDeployment(old.id, first.id, old.lockVersion);

      expect(await database.repository.supersedeDeployment(old.id, first.id, old.lockVersion)).toEqual(superseded);

      // The competitor read the old deployment before the first switch: its whole transaction must roll back.
      const competitor = database.repository.transaction(async (tx) => {
        const second = await tx.recordDeployment(deploymentInput(release, releaseApp, { dedupKey: 'competing-switch-' + old.id }));
        return tx.supersedeDeployment(old.id, second.id, old.lockVersion);
      });
      await expect(competitor).rejects.toBeInstanceOf(OptimisticLockError);
      expect(await database.db.$count(deployments, eq(deployments.dedupKey, 'competing-switch-' + old.id))).toBe(0);
      expect(await database.repository.getDeployment(old.id)).toEqual(superseded);
    });

    it('refuses to supersede a missing deployment, or one already superseded at the version the caller read', async () => {
      const { release, releaseApp, deployment } = await seedDeployment(database.repository);
      const next = await database.repository.recordDeployment(deploymentInput(release, releaseApp));
      await expect(database.repository.supersedeDeployment(MISSING_ID, next.id, 1)).rejects.toBeInstanceOf(NotFoundError);

      // Recorded as superseded from the start (e.g. imported history): lock version matches, state does not.
      const imported = await database.repository.recordDeployment(
        deploymentInput(release, releaseApp, { superseded: true, supersededBy: deployment.id }),
      );
      await expect(database.repository.supersedeDeployment(imported.id, next.id, imported.lockVersion)).rejects.toBeInstanceOf(
        StateConflictError,
      );
    });

    it('finds the active deployment of a release app per environment and target', async () => {
      const { release, releaseApp, deployment: pre } = await seedDeployment(database.repository, { environment: 'pre' });
      const prod = await database.repository.recordDeployment(
        deploymentInput(release, releaseApp, { environment: 'prod', target: 'shop/web-prod-1' }),
      );

      expect(await database.repository.getActiveDeployment(releaseApp.id)).toEqual(prod);
      expect(await database.repository.getActiveDeployment(releaseApp.id, { environment: 'pre' })).toEqual(pre);
      expect(await database.repository.getActiveDeployment(releaseApp.id, { target: 'shop/web-prod-1' })).toEqual(prod);
      expect(await database.repository.getActiveDeployment(releaseApp.id, { environment: 'staging' })).toBeUndefined();
      expect((await database.repository.listActiveDeployments(releaseApp.id)).map((d) => d.id)).toEqual([prod.id, pre.id]);
    });

    it('lists the deployments of a release in order and those of an app newest first', async () => {
      const app = unique('app');
      const release = await database.repository.upsertRelease(releaseInput());
      const releaseApp = await database.repository.recordReleaseApp(releaseAppInput(release, { app }));
      const a = await database.repository.recordDeployment(deploymentInput(release, releaseApp, { target: 'shop/a' }));
      const b = await database.repository.recordDeployment(deploymentInput(release, releaseApp, { target: 'shop/b' }));
      const c = await database.repository.recordDeployment(deploymentInput(release, releaseApp, { target: 'shop/a' }));

      expect((await database.repository.listDeploymentsOfRelease(release.id)).map((d) => d.id)).toEqual([a.id, b.id, c.id]);
      expect((await database.repository.listDeploymentsOfApp(app)).map((d) => d.id)).toEqual([c.id, b.id, a.id]);
      expect((await database.repository.listDeploymentsOfApp(app, { target: 'shop/a' })).map((d) => d.id)).toEqual([c.id, a.id]);
      expect((await database.repository.listDeploymentsOfApp(app, { limit: 1 })).map((d) => d.id)).toEqual([c.id]);
    });
  });

  describe('stage and task runs', () => {
    it('records a stage run once per dedup key and updates it under locking', async () => {
      const { deployment } = await seedDeployment(database.repository);
      const input = stageRunInput(deployment, { phase: 'pre_release', stage: 'backup' });
      const stage = await database.repository.recordStageRun(input);

      expect(await database.repository.recordStageRun({ ...input, stage: 'other' })).toEqual(stage);
      expect(await database.db.$count(stageRuns, eq(stageRuns.dedupKey, input.dedupKey))).toBe(1);
      expect(stage).toMatchObject({ status: 'pending', attempt: 1, lockVersion: 1 });

      const done = await database.repository.updateStageRun(stage.id, 1, { status: 'succeeded', finishedAt: new Date() });
      expect(done).toMatchObject({ status: 'succeeded', lockVersion: 2 });
      expect(await database.repository.getStageRun(stage.id)).toEqual(done);
      await expect(database.repository.updateStageRun(stage.id, 1, { status: 'failed' })).rejects.toBeInstanceOf(
        OptimisticLockError,
      );
      expect(await database.repository.listStageRunsOfDeployment(deployment.id)).toEqual([done]);
    });

    it('records a task run once per dedup key, so a task reported twice is stored once', async () => {
      const { deployment } = await seedDeployment(database.repository);
      const stage = await database.repository.recordStageRun(stageRunInput(deployment));
      const input = taskRunInput(stage, { type: 'health_check' });
      const task = await database.repository.recordTaskRun(input);

      expect(await database.repository.recordTaskRun(input)).toEqual(task);
      expect(await database.db.$count(taskRuns, eq(taskRuns.dedupKey, input.dedupKey))).toBe(1);
      expect(await database.repository.getTaskRunByDedupKey(input.dedupKey)).toEqual(task);
      expect(await database.repository.getTaskRunByDedupKey('never-ran')).toBeUndefined();

      const retried = await database.repository.updateTaskRun(task.id, task.lockVersion, {
        status: 'failed',
        retryCount: 2,
        outputTail: 'curl: (7) Failed to connect',
        error: 'health check failed after 3 attempts',
      });
      expect(retried).toMatchObject({ status: 'failed', retryCount: 2, lockVersion: 2 });
      expect(await database.repository.getTaskRun(task.id)).toEqual(retried);
      await expect(database.repository.updateTaskRun(task.id, 1, { status: 'succeeded' })).rejects.toBeInstanceOf(
        OptimisticLockError,
      );
      await expect(database.repository.updateTaskRun(MISSING_ID, 1, { status: 'succeeded' })).rejects.toBeInstanceOf(
        NotFoundError,
      );
      expect(await database.repository.listTaskRunsOfStageRun(stage.id)).toEqual([retried]);
    });
  });

  describe('release history', () => {
    it('gathers deployments with their stage and task runs, approvals and audit events, in the order they happened', async () => {
      const release = await database.repository.upsertRelease(releaseInput());
      const releaseApp = await database.repository.recordReleaseApp(releaseAppInput(release));
      const approval = await database.repository.recordApproval({
        dedupKey: unique('approval'),
        releaseId: release.id,
        environment: 'pre',
        approvers: ['bob'],
      });
      const pre = await database.repository.recordDeployment(deploymentInput(release, releaseApp, { environment: 'pre' }));
      const preStage1 = await database.repository.recordStageRun(stageRunInput(pre, { phase: 'pre_release', stage: 'backup' }));
      const preStage2 = await database.repository.recordStageRun(stageRunInput(pre, { phase: 'release', stage: 'deploy' }));
      const task1 = await database.repository.recordTaskRun(taskRunInput(preStage2, { taskName: 'pull' }));
      const task2 = await database.repository.recordTaskRun(taskRunInput(preStage2, { taskName: 'run' }));
      const prod = await database.repository.recordDeployment(
        deploymentInput(release, releaseApp, { environment: 'prod', target: 'shop/web-prod-1' }),
      );
      const started = await database.repository.recordAuditEvent({
        dedupKey: unique('audit'),
        kind: 'Release',
        namespace: release.namespace,
        name: release.name,
        releaseId: release.id,
        action: 'start',
        actor: 'alice',
        occurredAt: new Date('2026-03-01T08:00:00.000Z'),
      });
      const promoted = await database.repository.recordAuditEvent({
        dedupKey: unique('audit'),
        kind: 'Release',
        namespace: release.namespace,
        name: release.name,
        releaseId: release.id,
        action: 'promote',
        actor: 'alice',
        occurredAt: new Date('2026-03-01T09:00:00.000Z'),
      });
      // Another release's rows must not leak in.
      await seedDeployment(database.repository);

      const history = await database.repository.getReleaseHistory(release.id);

      expect(history).toEqual({
        release,
        releaseApps: [releaseApp],
        deployments: [
          {
            ...pre,
            stageRuns: [
              { ...preStage1, taskRuns: [] },
              { ...preStage2, taskRuns: [task1, task2] },
            ],
          },
          { ...prod, stageRuns: [] },
        ],
        approvals: [approval],
        auditEvents: [started, promoted],
      });
    });

    it('has no history for a release it does not hold', async () => {
      expect(await database.repository.getReleaseHistory(MISSING_ID)).toBeUndefined();
    });
  });
});
