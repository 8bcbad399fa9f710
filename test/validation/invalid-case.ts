/** Shared shape and assertion of the table-driven invalid-manifest tests. */
import { expect } from 'vitest';
import type { ManifestResult } from '../../operator/src/validation/manifest-validator.ts';
import { ManifestValidator } from '../../operator/src/validation/manifest-validator.ts';
import { mutate, type Manifest } from '../fixtures/manifests.ts';

export const validator = new ManifestValidator();

export interface InvalidCase {
  /** What is wrong, for the test name. */
  name: string;
  /** The valid manifest the case starts from. */
  base: Manifest;
  /** Field paths to set (or `REMOVE`) on a copy of the base. */
  changes: Record<string, unknown>;
  /** The exact field path the one issue must point at. */
  path: string;
  /** A phrase the issue's message must contain. */
  reason: string;
  source?: 'schema' | 'rule' | 'semantic';
  /** Paths of follow-on issues the same change also causes (none unless listed). */
  alsoAt?: string[];
}

export function validateChanged(c: InvalidCase): ManifestResult {
  return validator.validate(mutate(c.base, c.changes));
}

/**
 * The manifest fails first with an issue at the expected path giving the expected reason, and with no other
 * issue except the follow-on ones the case lists.
 */
export function expectSingleIssue(result: ManifestResult, c: Pick<InvalidCase, 'path' | 'reason' | 'source' | 'alsoAt'>): void {
  expect(result.foreign).toBe(false);
  expect(result.object).toBeUndefined();
  const [first, ...rest] = result.issues;
  expect(first).toEqual(
    expect.objectContaining({
      path: c.path,
      message: expect.stringContaining(c.reason),
      ...(c.source ? { source: c.source } : {}),
    }),
  );
  expect(rest.map((issue) => issue.path)).toEqual(c.alsoAt ?? []);
}
