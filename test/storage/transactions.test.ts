import { eq } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { OptimisticLockError } from '../../operator/src/storage/errors.ts';
import { releases } from '../../operator/src/storage/schema.ts';
import { deploymentInput, releaseAppInput, releaseInput } from '../support/storage-fixtures.ts';
import { describeOnEachDriver } from '../support/test-databases.ts';

describeOnEachDriver('transactions', (database) => {
  it('commits everything written through the transaction-bound repository', async () => {
    const input = releaseInput();
    const { release, app } = await database.repository.transaction(async (tx) => {
      const release = await tx.upsertRelease(input);
      // The transaction sees its own uncommitted rows.
      expect(await tx.getReleaseByUid(input.uid)).toEqual(release);
      const app = await tx.recordReleaseApp(releaseAppInput(release));
      return { release, app };
    });

    expect(await database.repository.getRelease(release.id)).toEqual(release);
    expect(await database.repository.getReleaseApp(app.id)).toEqual(app);
  });

  it('rolls back everything when the work throws, and passes the error on', async () => {
    const input = releaseInput();
    const failure = new Error('agent went away');
    let written: { releaseId?: string; appId?: string; deploymentId?: string } = {};

    await expect(
      database.repository.transaction(async (tx) => {
        const release = await tx.upsertRelease(input);
        const app = await tx.recordReleaseApp(releaseAppInput(release));
        const deployment = await tx.recordDeployment(deploymentInput(release, app));
        written = { releaseId: release.id, appId: app.id, deploymentId: deployment.id };
        throw failure;
      }),
    ).rejects.toBe(failure);

    expect(written.deploymentId).toBeDefined();
    expect(await database.repository.getReleaseByUid(input.uid)).toBeUndefined();
    expect(await database.repository.getReleaseApp(written.appId!)).toBeUndefined();
    expect(await database.repository.getDeployment(written.deploymentId!)).toBeUndefined();
  });

  it('rolls back the earlier writes of a transaction whose locked update conflicts', async () => {
    const release = await database.repository.upsertRelease(releaseInput());
    await database.repository.updateRelease(release.id, release.lockVersion, { phase: 'Waiting' });
    const appInput = releaseAppInput(release);

    await expect(
      database.repository.transaction(async (tx) => {
        await tx.recordReleaseApp(appInput);
        return tx.updateRelease(release.id, release.lockVersion, { phase: 'Deploying' });
      }),
    ).rejects.toBeInstanceOf(OptimisticLockError);

    expect(await database.repository.getReleaseAppByUid(appInput.uid)).toBeUndefined();
    expect((await database.repository.getRelease(release.id))?.phase).toBe('Waiting');
  });

  it('undoes only a nested transaction that failed when the outer one catches its error', async () => {
    const outerInput = releaseInput();
    const innerInput = releaseInput();

    await database.repository.transaction(async (tx) => {
      await tx.upsertRelease(outerInput);
      await tx
        .transaction(async (inner) => {
          await inner.upsertRelease(innerInput);
          throw new Error('inner step failed');
        })
        .catch(() => undefined);
    });

    expect(await database.db.$count(releases, eq(releases.uid, outerInput.uid))).toBe(1);
    expect(await database.db.$count(releases, eq(releases.uid, innerInput.uid))).toBe(0);
  });
});
