/**
 * Carries out a version switch in the history, in one transaction: the ReleaseApp's row takes the new version
 * (optimistically locked: of two concurrent switches exactly one wins, the other sees the new state on its
 * next pass), and each deployment of the app not yet superseded is marked superseded — when, and by which —
 * by a new deployment row of the new version for the same environment and target, pending until that target
 * is deployed again. Running work is never touched: a switch is only allowed when none runs, and the check is
 * repeated inside the transaction.
 */
import type { Repository } from '../storage/index.ts';
import type { ReleaseApp } from '../storage/schema.ts';

export interface SwitchOutcome {
  row: ReleaseApp;
  /** The deployments superseded, each by the new one. */
  superseded: { id: string; by: string; environment: string; target: string }[];
}

export class SwitchConflict extends Error {}

export async function switchReleaseAppVersion(repo: Repository, row: ReleaseApp, to: string): Promise<SwitchOutcome> {
  return repo.transaction(async (tx) => {
    const running = (await tx.listDeploymentsOfRelease(row.releaseId)).filter((d) => d.releaseAppId === row.id && d.status === 'running');
    if (running.length > 0) throw new SwitchConflict(`the app has ${running.length} deployment(s) running`);
    // Throws OptimisticLockError when another switch (or any write) changed the row since it was read.
    const updated = await tx.updateReleaseApp(row.id, row.lockVersion, { version: to });
    const latest = new Map<string, Awaited<ReturnType<Repository['listActiveDeployments']>>[number]>();
    for (const d of await tx.listActiveDeployments(row.id)) {
      if (d.operation === 'rollback') continue;
      const key = `${d.environment}/${d.target}`;
      if (!latest.has(key)) latest.set(key, d);
    }
    const superseded: SwitchOutcome['superseded'] = [];
    for (const old of latest.values()) {
      const next = await tx.recordDeployment({
        dedupKey: `${row.uid}/switch-${updated.lockVersion}/${old.environment}/${old.target}`,
        releaseId: row.releaseId,
        releaseAppId: row.id,
        app: row.app,
        environment: old.environment,
        target: old.target,
        targetType: old.targetType,
        version: to,
        previousVersion: old.version,
        operation: old.operation,
        status: 'pending',
      });
      await tx.supersedeDeployment(old.id, next.id, old.lockVersion);
      superseded.push({ id: old.id, by: next.id, environment: old.environment, target: old.target });
    }
    return { row: updated, superseded };
  });
}
