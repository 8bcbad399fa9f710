/** `version: auto` with `bump`: the next semantic version after the project's earlier releases. Pure. */
import semver from 'semver';

export type VersionBump = 'major' | 'minor' | 'patch';

/**
 * The highest valid version among `previous` raised by `bump`, as semver's `inc` does (a prerelease
 * `1.2.0-beta.1` raised by patch is `1.2.0`, its release). `auto`, and whatever else is not a semantic
 * version, is skipped; with nothing left the count starts at 0.0.0. A `v` prefix on the highest version
 * is kept, so tags keep the project's style; of equal versions the last one listed sets the style.
 */
export function nextVersion(previous: readonly string[], bump: VersionBump): string {
  let highest: { version: string; prefixed: boolean } | undefined;
  for (const candidate of previous) {
    const version = semver.valid(candidate.trim());
    if (version === null) continue;
    if (highest === undefined || semver.gte(version, highest.version)) {
      highest = { version, prefixed: /^v/.test(candidate.trim()) };
    }
  }
  const next = semver.inc(highest?.version ?? '0.0.0', bump);
  if (next === null) throw new Error(`cannot raise ${highest?.version ?? '0.0.0'} by ${bump}`);
  return highest?.prefixed ? `v${next}` : next;
}
