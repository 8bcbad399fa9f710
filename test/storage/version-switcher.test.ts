/**
 * The version switch in the history (controllers/version-switcher.ts) on each database driver: one
 * transaction, optimistic locking on the ReleaseApp row, deployments superseded by new ones, never while work runs.
 */
import { describe, expect, it } from 'vitest';
import { OptimisticLockError } from '../../operator/src/storage/errors.ts';
import { SwitchConflict, switchReleaseAppVersion } from '../../operator/src/controllers/version-switcher.ts';
import { seedDeployment } from '../support/storage-fixtures.ts';
import { describeOnEachDriver } from '../support/test-databases.ts';

describeOnEachDriver('version switch', (database) => {
  describe('switchReleaseAppVersion', () => {
    it('two concurrent switches of one ReleaseApp: exactly one wins and exactly one new deployment is created', async () => {
      const repo = database.repository;
      const { releaseApp, deployment } = await seedDeployment(repo, { status: 'succeeded' });
      const results = await Promise.allSettled([switchReleaseAppVersion(repo, releaseApp, '2.0.0'), switchReleaseAppVersion(repo, releaseApp, '3.0.0')]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]!.reason).toBeInstanceOf(OptimisticLockError);
      const rows = (await repo.listDeploymentsOfRelease(releaseApp.releaseId)).filter((d) => d.releaseAppId === releaseApp.id);
      expect(rows).toHaveLength(2);
      const [old, created] = [rows.find((d) => d.id === deployment.id)!, rows.find((d) => d.id !== deployment.id)!];
      const winner = (await repo.getReleaseApp(releaseApp.id))!;
      expect(created).toMatchObject({ version: winner.version, status: 'pending', superseded: false, previousVersion: deployment.version });
      expect(old).toMatchObject({ superseded: true, supersededBy: created.id });
    });

    it('switching again supersedes the pending deployment of the last switch', async () => {
      const repo = database.repository;
      const { releaseApp } = await seedDeployment(repo, { status: 'succeeded' });
      const first = await switchReleaseAppVersion(repo, releaseApp, '2.0.0');
      const second = await switchReleaseAppVersion(repo, first.row, '3.0.0');
      expect(second.superseded).toHaveLength(1);
      expect(second.superseded[0]!.id).toBe(first.superseded[0]!.by);
      const active = await repo.listActiveDeployments(releaseApp.id);
      expect(active.map((d) => [d.version, d.status])).toEqual([['3.0.0', 'pending']]);
    });

    it('refuses while a deployment of the app runs, and changes nothing', async () => {
      const repo = database.repository;
      const { releaseApp } = await seedDeployment(repo, { status: 'running' });
      await expect(switchReleaseAppVersion(repo, releaseApp, '2.0.0')).rejects.toBeInstanceOf(SwitchConflict);
      expect((await repo.getReleaseApp(releaseApp.id))!.version).toBe(releaseApp.version);
      expect((await repo.listActiveDeployments(releaseApp.id)).map((d) => d.status)).toEqual(['running']);
    });
  });
});
