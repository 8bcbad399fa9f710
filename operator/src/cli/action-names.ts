/** The release actions the CLI offers as commands, apart from rollback (its own command); no imports, so `main` can list them without loading them. */
export const RELEASE_ACTIONS = ['approve', 'reject', 'start', 'promote', 'pause', 'resume', 'cancel', 'retry'] as const;
export type ReleaseActionName = (typeof RELEASE_ACTIONS)[number];
