import { and, asc, eq } from 'drizzle-orm';
import type { Database } from './database.ts';
import { OptimisticLockError } from './errors.ts';
import { bumpVersion, updateLocked, type Changes } from './row-writes.ts';
import { targetInstallations, type NewTargetInstallation, type TargetInstallation } from './schema.ts';

export type TargetInstallationInput = Changes<NewTargetInstallation> & Pick<NewTargetInstallation, 'target' | 'app'>;

export interface AppInstances {
  /** One row per target that knows the app, whatever its state, ordered by target. */
  instances: TargetInstallation[];
  /** Running versions only (state `installed`): version → number of targets. */
  versions: Record<string, number>;
}

export function targetInstallationRepository(db: Database) {
  const find = async (target: string, app: string): Promise<TargetInstallation | undefined> =>
    (
      await db
        .select()
        .from(targetInstallations)
        .where(and(eq(targetInstallations.target, target), eq(targetInstallations.app, app)))
    )[0];

  return {
    getTargetInstallation: find,

    /**
     * Write what a target has installed for an app. `expectedLockVersion` is the version the caller read, or
     * undefined when it read no row: the write fails with OptimisticLockError if someone else got there first.
     */
    upsertTargetInstallation: async (
      input: TargetInstallationInput,
      expectedLockVersion?: number,
    ): Promise<TargetInstallation> => {
      const { target, app, ...changes } = input;
      if (expectedLockVersion === undefined) {
        const [row] = await db
          .insert(targetInstallations)
          .values(input)
          .onConflictDoNothing({ target: [targetInstallations.target, targetInstallations.app] })
          .returning();
        if (row) return row;
        const current = await find(target, app);
        throw new OptimisticLockError('target_installations', `${target} ${app}`, null, current?.lockVersion ?? null);
      }
      return updateLocked(
        'target_installations',
        `${target} ${app}`,
        expectedLockVersion,
        db
          .update(targetInstallations)
          .set({ ...changes, ...bumpVersion(targetInstallations) })
          .where(
            and(
              eq(targetInstallations.target, target),
              eq(targetInstallations.app, app),
              eq(targetInstallations.lockVersion, expectedLockVersion),
            ),
          )
          .returning(),
        () => find(target, app),
      );
    },

    listInstallationsOfTarget: (target: string): Promise<TargetInstallation[]> =>
      db
        .select()
        .from(targetInstallations)
        .where(eq(targetInstallations.target, target))
        .orderBy(asc(targetInstallations.app)),

    getInstancesOfApp: async (app: string): Promise<AppInstances> => {
      const instances = await db
        .select()
        .from(targetInstallations)
        .where(eq(targetInstallations.app, app))
        .orderBy(asc(targetInstallations.target));
      // Counted from the same rows as the list, so the summary always agrees with it.
      // A Map then fromEntries: a tag such as "__proto__" must stay a plain key.
      const counts = new Map<string, number>();
      for (const { state, version } of instances) {
        if (state === 'installed' && version !== null) counts.set(version, (counts.get(version) ?? 0) + 1);
      }
      return { instances, versions: Object.fromEntries(counts) };
    },
  };
}

export type TargetInstallationRepository = ReturnType<typeof targetInstallationRepository>;
