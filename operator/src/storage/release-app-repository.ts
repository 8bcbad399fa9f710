import { asc, eq } from 'drizzle-orm';
import type { Database } from './database.ts';
import { bumpVersion, byIdAndVersion, insertOnce, updateLocked, type Changes } from './row-writes.ts';
import { releaseApps, type NewReleaseApp, type ReleaseApp } from './schema.ts';

export type ReleaseAppChanges = Changes<NewReleaseApp, 'uid' | 'releaseId'>;

export function releaseAppRepository(db: Database) {
  const getReleaseApp = async (id: string): Promise<ReleaseApp | undefined> =>
    (await db.select().from(releaseApps).where(eq(releaseApps.id, id)))[0];

  const getReleaseAppByUid = async (uid: string): Promise<ReleaseApp | undefined> =>
    (await db.select().from(releaseApps).where(eq(releaseApps.uid, uid)))[0];

  return {
    getReleaseApp,
    getReleaseAppByUid,

    /** Inserted on first sight of the ReleaseApp object (keyed by its uid), returned as stored afterwards. */
    recordReleaseApp: (input: NewReleaseApp): Promise<ReleaseApp> =>
      insertOnce(
        'release_apps',
        input.uid,
        db.insert(releaseApps).values(input).onConflictDoNothing({ target: releaseApps.uid }).returning(),
        () => getReleaseAppByUid(input.uid),
      ),

    updateReleaseApp: (id: string, expectedLockVersion: number, changes: ReleaseAppChanges): Promise<ReleaseApp> =>
      updateLocked(
        'release_apps',
        id,
        expectedLockVersion,
        db
          .update(releaseApps)
          .set({ ...changes, ...bumpVersion(releaseApps) })
          .where(byIdAndVersion(releaseApps, id, expectedLockVersion))
          .returning(),
        () => getReleaseApp(id),
      ),

    /** Every ReleaseApp of an application across releases, oldest first (build-notify annotates these). */
    listReleaseAppsOfApp: (app: string): Promise<ReleaseApp[]> =>
      db.select().from(releaseApps).where(eq(releaseApps.app, app)).orderBy(asc(releaseApps.createdAt), asc(releaseApps.id)),

    listReleaseAppsOfRelease: (releaseId: string): Promise<ReleaseApp[]> =>
      db
        .select()
        .from(releaseApps)
        .where(eq(releaseApps.releaseId, releaseId))
        .orderBy(asc(releaseApps.createdAt), asc(releaseApps.id)),
  };
}

export type ReleaseAppRepository = ReturnType<typeof releaseAppRepository>;
