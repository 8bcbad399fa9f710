/**
 * Actions arrive as annotations (`shipway.dev/action`, `-target`, `actor`, `comment`) so that plain kubectl
 * and GitOps tools can drive a release. Pure: reading them, and telling a new action from one already
 * applied whose annotation has not been removed yet (the status records it, unacknowledged, until then).
 */
import type { LastAction } from '../api/release.ts';
import { PATTERNS } from '../api/patterns.ts';
import { ACTIONS, type ActionName, type ReleaseAction } from './release-machine.ts';

export const ACTION_ANNOTATION = 'shipway.dev/action';
/** One target, or several separated by commas (a batch rollback or retry). */
export const ACTION_TARGET_ANNOTATION = 'shipway.dev/action-target';
export const ACTOR_ANNOTATION = 'shipway.dev/actor';
export const COMMENT_ANNOTATION = 'shipway.dev/comment';
/** With start or promote: an emergency release of that environment (outside its window, no canary verification). */
export const EMERGENCY_ANNOTATION = 'shipway.dev/emergency';
/** With rollback: roll back past a db_migrate that has run. */
export const FORCE_ANNOTATION = 'shipway.dev/force';
/** With rollback: `quick` (previous revision, the default) or `redeploy` (a new Release of an older version). */
export const ROLLBACK_KIND_ANNOTATION = 'shipway.dev/rollback-kind';
/** With rollback: the version to go back to (quick: on the chosen targets; redeploy: the Release to copy). */
export const ROLLBACK_VERSION_ANNOTATION = 'shipway.dev/rollback-version';
export const ACTION_ANNOTATIONS = [
  ACTION_ANNOTATION, ACTION_TARGET_ANNOTATION, ACTOR_ANNOTATION, COMMENT_ANNOTATION,
  EMERGENCY_ANNOTATION, FORCE_ANNOTATION, ROLLBACK_KIND_ANNOTATION, ROLLBACK_VERSION_ANNOTATION,
] as const;

const flag = (value: string | undefined) => value !== undefined && ['true', 'yes', '1'].includes(value.trim().toLowerCase());
const VERSION = new RegExp(PATTERNS.versionRef.regex);

/** `a, b,a` → `a,b`: the form kept in status, so the same request reads the same however it was typed. */
function targetList(value: string | undefined): string | undefined {
  const names = [...new Set((value ?? '').split(',').map((name) => name.trim()).filter((name) => name !== ''))];
  return names.length > 0 ? names.join(',') : undefined;
}

export type ParsedAction = { action: ReleaseAction } | { invalid: string; raw: ReleaseAction } | undefined;

export function parseAction(annotations: Readonly<Record<string, string>> | undefined, allowed: readonly string[] = ACTIONS): ParsedAction {
  const name = annotations?.[ACTION_ANNOTATION]?.trim();
  if (!name) return undefined;
  const action: ReleaseAction = {
    action: name as ActionName,
    ...(targetList(annotations?.[ACTION_TARGET_ANNOTATION]) ? { target: targetList(annotations?.[ACTION_TARGET_ANNOTATION]) } : {}),
    ...(annotations?.[ACTOR_ANNOTATION] ? { actor: annotations[ACTOR_ANNOTATION]!.trim().slice(0, 253) } : {}),
    ...(annotations?.[COMMENT_ANNOTATION] ? { comment: annotations[COMMENT_ANNOTATION]!.slice(0, 1024) } : {}),
    ...(flag(annotations?.[EMERGENCY_ANNOTATION]) ? { emergency: true } : {}),
    ...(flag(annotations?.[FORCE_ANNOTATION]) ? { force: true } : {}),
    ...(annotations?.[ROLLBACK_KIND_ANNOTATION] ? { rollbackKind: annotations[ROLLBACK_KIND_ANNOTATION]!.trim() as 'quick' } : {}),
    ...(annotations?.[ROLLBACK_VERSION_ANNOTATION] ? { rollbackVersion: annotations[ROLLBACK_VERSION_ANNOTATION]!.trim().slice(0, 128) } : {}),
  };
  if (!allowed.includes(name)) return { invalid: `unknown action "${name}"; expected one of ${allowed.join(', ')}`, raw: action };
  if (action.rollbackKind !== undefined && !['quick', 'redeploy'].includes(action.rollbackKind)) {
    return { invalid: `${ROLLBACK_KIND_ANNOTATION} "${action.rollbackKind}" is not quick or redeploy`, raw: action };
  }
  if ((action.rollbackKind || action.rollbackVersion || action.force) && name !== 'rollback') {
    return { invalid: `${action.force ? FORCE_ANNOTATION : action.rollbackKind ? ROLLBACK_KIND_ANNOTATION : ROLLBACK_VERSION_ANNOTATION} only goes with the rollback action`, raw: action };
  }
  if (action.rollbackKind === 'redeploy' && !action.rollbackVersion) return { invalid: `a redeploy rollback needs ${ROLLBACK_VERSION_ANNOTATION}`, raw: action };
  if (action.rollbackVersion !== undefined && !VERSION.test(action.rollbackVersion)) {
    return { invalid: `${ROLLBACK_VERSION_ANNOTATION} "${action.rollbackVersion}" is not ${PATTERNS.versionRef.meaning}`, raw: action };
  }
  if (action.target && action.target.split(',').length > 1 && name !== 'rollback' && name !== 'retry') {
    return { invalid: `${ACTION_TARGET_ANNOTATION} names several targets; only rollback and retry take more than one`, raw: action };
  }
  if (action.emergency && name !== 'start' && name !== 'promote') return { invalid: `${EMERGENCY_ANNOTATION} only goes with start or promote`, raw: action };
  if (action.emergency && !action.comment) return { invalid: `an emergency release needs a reason in ${COMMENT_ANNOTATION}`, raw: action };
  return { action };
}

/** The annotation still present is the action the status already records (applied, annotation not yet removed). */
export function alreadyApplied(action: ReleaseAction, last: LastAction | undefined): boolean {
  return !!last && !last.acknowledged && last.action === action.action && (last.target ?? undefined) === action.target && (last.actor ?? undefined) === action.actor;
}
