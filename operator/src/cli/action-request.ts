/**
 * Asking the operator for an action the way `kubectl annotate` would, and reading its answer. A request is
 * the action annotations (`shipway.dev/action`, `actor`, `comment`, ...) written on a Release or ReleaseApp,
 * guarded by the resourceVersion just read; the operator's answer is the object's `status.lastAction`
 * (Applied or Rejected, with why). Shared by `rollback`, the release actions and `switch-version`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CustomObject, CustomResources } from '../controllers/custom-resources.ts';
import { TransientError } from '../runtime/errors.ts';
import { ACTION_ANNOTATION } from '../planning/release-actions.ts';

/** The operator's acknowledgement of an action, as both Release and ReleaseApp status carry it. */
export interface Acknowledgement {
  action: string;
  actor?: string;
  target?: string;
  result: 'Applied' | 'Rejected';
  message?: string;
  at: string;
  acknowledged?: boolean;
}

export type ActionObject = CustomObject & { status?: { lastAction?: Acknowledgement } };

export type Requested = { object: ActionObject; before: Acknowledgement | undefined };
export type Refused = { refused: string };

/** How far a request is, judged from one read of the object. */
export type ActionProgress =
  | { state: 'pending' }
  | { state: 'taken'; verdict: Acknowledgement }
  | { state: 'withdrawn'; reason: string };

const same = (a: Acknowledgement, b: Acknowledgement) =>
  a.action === b.action && a.at === b.at && a.result === b.result && a.message === b.message && a.actor === b.actor && a.target === b.target;

/**
 * Pure. The answer is a `lastAction` for this action that differs from the one read before the request
 * (`acknowledged` flipping does not count: that is the operator removing an earlier annotation). Two
 * identical answers in the same second cannot be told apart by content; the annotation gone settles it,
 * since the operator writes the status before it removes the annotation.
 */
export function actionProgress(action: string, before: Acknowledgement | undefined, object: ActionObject | undefined, what: string): ActionProgress {
  if (!object) return { state: 'withdrawn', reason: `${what} was deleted before the operator took the ${action}` };
  const last = object.status?.lastAction;
  if (last && last.action === action && !(before && same(before, last))) return { state: 'taken', verdict: last };
  if (!object.metadata.annotations?.[ACTION_ANNOTATION]) {
    if (last && last.action === action) return { state: 'taken', verdict: last };
    return { state: 'withdrawn', reason: `the ${ACTION_ANNOTATION} annotation of ${what} was removed before the operator took the ${action}` };
  }
  return { state: 'pending' };
}

/**
 * Writes `annotations` on the object unless an earlier action is still waiting for the operator (one action
 * at a time: the annotation holds only one). `check` may refuse on the fresh read (a precondition the
 * command knows better than the operator's generic message).
 */
export async function requestAction(
  resources: CustomResources,
  namespace: string,
  name: string,
  what: string,
  annotations: Record<string, string>,
  check?: (object: ActionObject) => string | undefined,
): Promise<Requested | Refused> {
  for (let attempt = 0; ; attempt++) {
    const object = (await resources.get(namespace, name)) as ActionObject | undefined;
    if (!object) return { refused: `${what} not found` };
    const pending = object.metadata.annotations?.[ACTION_ANNOTATION];
    if (pending) return { refused: `${what} has an action the operator has not taken yet (${ACTION_ANNOTATION}: ${pending}); try again in a moment` };
    const problem = check?.(object);
    if (problem) return { refused: `${what}: ${problem}` };
    try {
      await resources.patchMetadata(object, { annotations });
      return { object, before: object.status?.lastAction };
    } catch (error) {
      // Someone else wrote the object between our read and our write: read it again.
      if (!(error instanceof TransientError) || attempt >= 3) throw error;
    }
  }
}

/** Reads the object every `pollMs` until the operator has answered the request, or `timeoutMs` has passed. */
export async function awaitAction(
  resources: CustomResources,
  namespace: string,
  name: string,
  what: string,
  action: string,
  before: Acknowledgement | undefined,
  options: { timeoutMs: number; pollMs: number },
): Promise<{ progress: ActionProgress; object: ActionObject | undefined }> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    await sleep(options.pollMs);
    const object = (await resources.get(namespace, name)) as ActionObject | undefined;
    const progress = actionProgress(action, before, object, what);
    if (progress.state !== 'pending' || Date.now() > deadline) return { progress, object };
  }
}
