/**
 * The ReleaseApp version switch (SPEC "New image tags from CI"), pure: which version an app should move to
 * and whether it may now. Two ways ask for a switch — the `switch-version` action (annotation, typically to
 * the new tag CI reported) and a change of `spec.version` (GitOps) — and one guard decides both: the parent
 * Release is Waiting (before an environment starts: PreWaiting / ProdWaiting) and the app has no deployment
 * running. A refused action is answered once (Rejected); a refused spec change stays pending, shown in a
 * condition, and goes through when the guard allows it.
 */
import { PATTERNS } from '../api/patterns.ts';

export const SWITCH_VERSION_ACTION = 'switch-version';
/** With switch-version: the version to switch to (default: the new tag in status). */
export const VERSION_ANNOTATION = 'shipway.dev/version';
/** Release phases in which a switch may happen. */
export const SWITCHABLE_RELEASE_PHASES: readonly string[] = ['Waiting'];

const VERSION = new RegExp(PATTERNS.versionRef.regex);

/** Whether `text` is a version a ReleaseApp may have (spec.version's pattern and length). */
export function isVersionRef(text: string): boolean {
  return text.length <= 128 && VERSION.test(text);
}

export interface VersionSwitchInput {
  release: string;
  /** The Release's phase; undefined when it has no status yet. */
  releasePhase: string | undefined;
  /** The version in effect (the history's): what the engine deploys. */
  effectiveVersion: string;
  specVersion: string;
  /** The spec.version last taken into account (status.specVersion); undefined before the first pass. */
  acceptedSpecVersion: string | undefined;
  /** The tag CI reported (status.newTag), if any. */
  newTag?: string;
  /** A switch-version action, with the version it names, if any. */
  action?: { version?: string };
  runningDeployments: number;
}

export type Source = 'action' | 'spec';

export type VersionSwitchPlan =
  | { kind: 'none' }
  | { kind: 'switch'; source: Source; from: string; to: string }
  | { kind: 'unchanged'; source: Source; to: string }
  | { kind: 'refuse'; source: Source; to?: string; reason: string };

/** Why a switch to `to` may not happen now, or undefined when it may. */
export function switchBlocker(input: Pick<VersionSwitchInput, 'release' | 'releasePhase' | 'runningDeployments'>): string | undefined {
  if (!SWITCHABLE_RELEASE_PHASES.includes(input.releasePhase ?? '')) {
    return `release ${input.release} is ${input.releasePhase ?? 'not started'}: the version can only be switched while the release is Waiting (before an environment starts)`;
  }
  if (input.runningDeployments > 0) return `the app has ${input.runningDeployments} deployment(s) running`;
  return undefined;
}

export function planVersionSwitch(input: VersionSwitchInput): VersionSwitchPlan {
  if (input.action) {
    const to = input.action.version?.trim() || input.newTag;
    if (!to) return { kind: 'refuse', source: 'action', reason: `no version to switch to: name one in ${VERSION_ANNOTATION}, or wait for a new tag from CI` };
    if (!isVersionRef(to)) return { kind: 'refuse', source: 'action', reason: `${VERSION_ANNOTATION}: Invalid value: ${JSON.stringify(to.slice(0, 140))}: must be ${PATTERNS.versionRef.meaning}` };
    return guarded(input, 'action', to);
  }
  const accepted = input.acceptedSpecVersion ?? input.effectiveVersion;
  if (input.specVersion !== accepted) return guarded(input, 'spec', input.specVersion);
  return { kind: 'none' };
}

function guarded(input: VersionSwitchInput, source: Source, to: string): VersionSwitchPlan {
  if (to === input.effectiveVersion) return { kind: 'unchanged', source, to };
  const blocker = switchBlocker(input);
  return blocker ? { kind: 'refuse', source, to, reason: blocker } : { kind: 'switch', source, from: input.effectiveVersion, to };
}
