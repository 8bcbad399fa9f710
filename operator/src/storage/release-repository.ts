import { desc, eq } from 'drizzle-orm';
import type { Database } from './database.ts';
import { bumpVersion, byIdAndVersion, insertOnce, updateLocked, type Changes } from './row-writes.ts';
import { releases, type NewRelease, type Release } from './schema.ts';

export type ReleaseChanges = Changes<NewRelease, 'uid'>;

export function releaseRepository(db: Database) {
  const getRelease = async (id: string): Promise<Release | undefined> =>
    (await db.select().from(releases).where(eq(releases.id, id)))[0];

  const getReleaseByUid = async (uid: string): Promise<Release | undefined> =>
    (await db.select().from(releases).where(eq(releases.uid, uid)))[0];

  return {
    getRelease,
    getReleaseByUid,

    /**
     * The release row of a Release object: inserted on first sight, returned as stored afterwards. It never
     * overwrites: reconcilers change a release with updateRelease and the lock version they read.
     */
    upsertRelease: (input: NewRelease): Promise<Release> =>
      insertOnce(
        'releases',
        input.uid,
        db.insert(releases).values(input).onConflictDoNothing({ target: releases.uid }).returning(),
        () => getReleaseByUid(input.uid),
      ),

    updateRelease: (id: string, expectedLockVersion: number, changes: ReleaseChanges): Promise<Release> =>
      updateLocked(
        'releases',
        id,
        expectedLockVersion,
        db
          .update(releases)
          .set({ ...changes, ...bumpVersion(releases) })
          .where(byIdAndVersion(releases, id, expectedLockVersion))
          .returning(),
        () => getRelease(id),
      ),

    /** Newest first; `auto` versions and the release list of a project read from here. */
    listReleasesOfProject: async (project: string, options: { limit?: number } = {}): Promise<Release[]> => {
      const query = db
        .select()
        .from(releases)
        .where(eq(releases.project, project))
        .orderBy(desc(releases.createdAt), desc(releases.id));
      return options.limit === undefined ? query : query.limit(options.limit);
    },
  };
}

export type ReleaseRepository = ReturnType<typeof releaseRepository>;
