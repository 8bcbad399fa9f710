import { eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { NotFoundError, OptimisticLockError } from '../../operator/src/storage/errors.ts';
import { releaseApps, releases } from '../../operator/src/storage/schema.ts';
import { releaseAppInput, releaseInput, unique } from '../support/storage-fixtures.ts';
import { describeOnEachDriver } from '../support/test-databases.ts';

describeOnEachDriver('release history rows', (database) => {
  describe('releases', () => {
    it('stores a new release with its defaults', async () => {
      const input = releaseInput();
      const release = await database.repository.upsertRelease(input);

      expect(release).toMatchObject({ uid: input.uid, project: input.project, phase: 'Pending', lockVersion: 1 });
      expect(release.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(release.createdAt).toBeInstanceOf(Date);
      expect(release.spec).toEqual(input.spec);
      expect(release.analytics).toBeNull();
      expect(await database.repository.getRelease(release.id)).toEqual(release);
      expect(await database.repository.getReleaseByUid(input.uid)).toEqual(release);
    });

    it('returns the stored release when the same uid is upserted again, without a second row or an overwrite', async () => {
      const input = releaseInput();
      const first = await database.repository.upsertRelease(input);
      const again = await database.repository.upsertRelease({ ...input, version: '9.9.9', phase: 'Failed' });

      expect(again).toEqual(first);
      expect(await database.db.$count(releases, eq(releases.uid, input.uid))).toBe(1);
    });

    it('answers undefined for a release it does not hold', async () => {
      expect(await database.repository.getReleaseByUid('no-such-uid')).toBeUndefined();
      expect(await database.repository.getRelease('00000000-0000-4000-8000-000000000000')).toBeUndefined();
    });

    it('updates a release and increments its lock version', async () => {
      const release = await database.repository.upsertRelease(releaseInput());
      const startedAt = new Date('2026-03-01T08:00:00.000Z');
      const updated = await database.repository.updateRelease(release.id, release.lockVersion, {
        phase: 'Deploying',
        currentEnvironment: 'pre',
        startedAt,
        analytics: { totalTargets: 3, succeededTargets: 1, healthScore: 88 },
      });

      expect(updated).toMatchObject({ phase: 'Deploying', currentEnvironment: 'pre', startedAt, lockVersion: 2 });
      expect(updated.analytics).toEqual({ totalTargets: 3, succeededTargets: 1, healthScore: 88 });
      expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(release.updatedAt.getTime());
      expect(await database.repository.getRelease(release.id)).toEqual(updated);
    });

    it('refuses an update made with a stale lock version and leaves the row as the winner wrote it', async () => {
      const release = await database.repository.upsertRelease(releaseInput());
      const winner = await database.repository.updateRelease(release.id, release.lockVersion, { phase: 'Waiting' });

      const loser = database.repository.updateRelease(release.id, release.lockVersion, { phase: 'Cancelled' });
      await expect(loser).rejects.toBeInstanceOf(OptimisticLockError);
      await expect(loser).rejects.toMatchObject({
        table: 'releases',
        id: release.id,
        expectedLockVersion: 1,
        actualLockVersion: 2,
      });
      expect(await database.repository.getRelease(release.id)).toEqual(winner);
    });

    it('reports a missing release on update as NotFoundError', async () => {
      const missing = database.repository.updateRelease('00000000-0000-4000-8000-000000000000', 1, { phase: 'Failed' });
      await expect(missing).rejects.toBeInstanceOf(NotFoundError);
      await expect(missing).rejects.toMatchObject({ table: 'releases' });
    });

    it('lists the releases of one project, newest first, optionally limited', async () => {
      const project = unique('project');
      const older = await database.repository.upsertRelease(releaseInput({ project, version: '1.0.0' }));
      const newer = await database.repository.upsertRelease(releaseInput({ project, version: '1.1.0' }));
      await database.repository.upsertRelease(releaseInput());

      expect((await database.repository.listReleasesOfProject(project)).map((r) => r.id)).toEqual([newer.id, older.id]);
      expect((await database.repository.listReleasesOfProject(project, { limit: 1 })).map((r) => r.id)).toEqual([newer.id]);
    });

    it('rejects a phase outside the known set at the database', async () => {
      await expect(
        database.db.execute(
          sql`insert into releases (uid, namespace, name, project, version, operation, phase, spec)
              values (${unique('uid')}, 'ns', 'n', 'p', '1.0.0', 'deploy', 'Exploded', '{}'::jsonb)`,
        ),
      ).rejects.toThrow();
    });
  });

  describe('release apps', () => {
    it('records a release app once per Kubernetes uid', async () => {
      const release = await database.repository.upsertRelease(releaseInput());
      const input = releaseAppInput(release);
      const first = await database.repository.recordReleaseApp(input);
      const again = await database.repository.recordReleaseApp({ ...input, version: 'v2' });

      expect(first).toMatchObject({ uid: input.uid, releaseId: release.id, version: 'v1', phase: 'Pending', lockVersion: 1 });
      expect(again).toEqual(first);
      expect(await database.db.$count(releaseApps, eq(releaseApps.uid, input.uid))).toBe(1);
      expect(await database.repository.getReleaseApp(first.id)).toEqual(first);
      expect(await database.repository.getReleaseAppByUid(input.uid)).toEqual(first);
    });

    it('records a new tag from CI under optimistic locking', async () => {
      const release = await database.repository.upsertRelease(releaseInput());
      const app = await database.repository.recordReleaseApp(releaseAppInput(release));
      const detectedAt = new Date('2026-03-02T09:30:00.000Z');

      const tagged = await database.repository.updateReleaseApp(app.id, app.lockVersion, {
        newTag: 'v2',
        newBuild: '481',
        newTagDetectedAt: detectedAt,
      });
      expect(tagged).toMatchObject({ newTag: 'v2', newBuild: '481', newTagDetectedAt: detectedAt, lockVersion: 2 });

      await expect(database.repository.updateReleaseApp(app.id, app.lockVersion, { version: 'v2' })).rejects.toMatchObject({
        name: 'OptimisticLockError',
        table: 'release_apps',
        id: app.id,
      });
      await expect(
        database.repository.updateReleaseApp('00000000-0000-4000-8000-000000000000', 1, { version: 'v2' }),
      ).rejects.toBeInstanceOf(NotFoundError);
    });

    it('lists the release apps of an application across releases, and the apps of one release', async () => {
      const app = unique('app');
      const first = await database.repository.upsertRelease(releaseInput());
      const second = await database.repository.upsertRelease(releaseInput());
      const a = await database.repository.recordReleaseApp(releaseAppInput(first, { app }));
      const other = await database.repository.recordReleaseApp(releaseAppInput(first));
      const b = await database.repository.recordReleaseApp(releaseAppInput(second, { app }));

      expect((await database.repository.listReleaseAppsOfApp(app)).map((row) => row.id)).toEqual([a.id, b.id]);
      expect((await database.repository.listReleaseAppsOfRelease(first.id)).map((row) => row.id)).toEqual([a.id, other.id]);
    });
  });
});
