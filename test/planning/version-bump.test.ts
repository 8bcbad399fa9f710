import { describe, expect, it } from 'vitest';
import { nextVersion, type VersionBump } from '../../operator/src/planning/version-bump.ts';

describe('nextVersion', () => {
  it.each<[string, string[], VersionBump, string]>([
    ['no earlier release, major', [], 'major', '1.0.0'],
    ['no earlier release, minor', [], 'minor', '0.1.0'],
    ['no earlier release, patch', [], 'patch', '0.0.1'],
    ['only auto and invalid versions', ['auto', '1.2', 'latest', '01.2.3', ''], 'minor', '0.1.0'],
    ['one release, major', ['1.4.2'], 'major', '2.0.0'],
    ['one release, minor', ['1.4.2'], 'minor', '1.5.0'],
    ['one release, patch', ['1.4.2'], 'patch', '1.4.3'],
    ['the highest by semver, not by text or by order', ['1.10.0', '1.9.3', '1.2.0'], 'patch', '1.10.1'],
    ['the highest even when listed first', ['2.0.0', '1.9.9'], 'minor', '2.1.0'],
    ['skipping auto and invalid entries', ['auto', '1.3.0', 'nightly', '1.2.9'], 'patch', '1.3.1'],
    ['a v prefix on the highest, kept', ['1.0.0', 'v1.2.0'], 'minor', 'v1.3.0'],
    ['a v prefix on a lower version only, dropped', ['v1.0.0', '1.2.0'], 'patch', '1.2.1'],
    ['equal versions, styled as the last one listed', ['v1.2.0', '1.2.0'], 'patch', '1.2.1'],
    ['equal versions, the other way round', ['1.2.0', 'v1.2.0'], 'patch', 'v1.2.1'],
    ['a prerelease highest, patch to its release', ['1.1.0', '1.2.0-beta.1'], 'patch', '1.2.0'],
    ['a prerelease highest, minor', ['1.2.0-beta.1'], 'minor', '1.2.0'],
    ['a prerelease highest, major', ['1.2.0-beta.1'], 'major', '2.0.0'],
    ['a release above its own prerelease', ['1.2.0-rc.2', '1.2.0'], 'patch', '1.2.1'],
    ['build metadata, dropped', ['1.2.3+build.7'], 'patch', '1.2.4'],
    ['surrounding whitespace', [' v1.2.3 '], 'patch', 'v1.2.4'],
  ])('%s: %j %s → %s', (_name, previous, bump, next) => {
    expect(nextVersion(previous, bump)).toBe(next);
  });
});
