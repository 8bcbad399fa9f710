/**
 * Actions arrive as annotations (`shipway.dev/action`, `-target`, `actor`, `comment`) so that plain kubectl
 * and GitOps tools can drive a release. Pure: reading them, and telling a new action from one already
 * applied whose annotation has not been removed yet (the status records it, unacknowledged, until then).
 */
import type { LastAction } from '../api/release.ts';
import { ACTIONS, type ActionName, type ReleaseAction } from './release-machine.ts';

export const ACTION_ANNOTATION = 'shipway.dev/action';
export const ACTION_TARGET_ANNOTATION = 'shipway.dev/action-target';
export const ACTOR_ANNOTATION = 'shipway.dev/actor';
export const COMMENT_ANNOTATION = 'shipway.dev/comment';
export const ACTION_ANNOTATIONS = [ACTION_ANNOTATION, ACTION_TARGET_ANNOTATION, ACTOR_ANNOTATION, COMMENT_ANNOTATION] as const;

export type ParsedAction = { action: ReleaseAction } | { invalid: string; raw: ReleaseAction } | undefined;

export function parseAction(annotations: Readonly<Record<string, string>> | undefined, allowed: readonly string[] = ACTIONS): ParsedAction {
  const name = annotations?.[ACTION_ANNOTATION]?.trim();
  if (!name) return undefined;
  const action: ReleaseAction = {
    action: name as ActionName,
    ...(annotations?.[ACTION_TARGET_ANNOTATION] ? { target: annotations[ACTION_TARGET_ANNOTATION]!.trim() } : {}),
    ...(annotations?.[ACTOR_ANNOTATION] ? { actor: annotations[ACTOR_ANNOTATION]!.trim().slice(0, 253) } : {}),
    ...(annotations?.[COMMENT_ANNOTATION] ? { comment: annotations[COMMENT_ANNOTATION]!.slice(0, 1024) } : {}),
  };
  if (!allowed.includes(name)) return { invalid: `unknown action "${name}"; expected one of ${allowed.join(', ')}`, raw: action };
  return { action };
}

/** The annotation still present is the action the status already records (applied, annotation not yet removed). */
export function alreadyApplied(action: ReleaseAction, last: LastAction | undefined): boolean {
  return !!last && !last.acknowledged && last.action === action.action && (last.target ?? undefined) === action.target && (last.actor ?? undefined) === action.actor;
}
