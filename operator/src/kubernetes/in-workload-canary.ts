/**
 * The in-workload canary (Deployments only): `<name>-canary`, a copy of the main Deployment with the new
 * images and ceil(percent % of its replicas) pods, labelled `shipway.dev/canary: "true"` on its selector
 * and pods. The main Deployment is left as it is until promotion; a Service selecting the app's labels
 * sends part of the traffic to the canary's pods.
 */
import { canaryDeployment, canaryName } from '../planning/canary-workload.ts';
import { imageChanges, rolloutState, sameJson, WorkloadError, type RolloutState } from '../planning/workload-rollout.ts';
import type { ImageChange } from '../tasks/task-executor.ts';
import { WorkloadNotFoundError } from './api-errors.ts';
import * as operations from './rollout-operations.ts';
import type { FollowOptions } from './rollout-wait.ts';
import type { TargetWorkload } from './target-workload.ts';

export interface CanaryResult {
  name: string;
  replicas: number;
  /** False when the canary already had these images and replicas (nothing was written). */
  changed: boolean;
}

function requireDeployment(w: TargetWorkload, what: string): void {
  if (w.kind !== 'Deployment') throw new WorkloadError(`${what} needs a Deployment; Target ${w.target.namespace}/${w.target.name} has a ${w.kind}`);
}

/** Creates the canary, or brings it to the main Deployment's current template with `images` and the share of replicas. */
export async function ensureCanary(w: TargetWorkload, images: readonly ImageChange[], percent: number): Promise<CanaryResult> {
  requireDeployment(w, 'an in-workload canary');
  const main = await w.client.read(w.kind, w.namespace, w.name);
  const desired = canaryDeployment(main, imageChanges(main, images, w.container), percent);
  const name = String(desired.metadata.name);
  const replicas = Number(desired.spec.replicas);
  const current = await w.client.find('Deployment', w.namespace, name);
  if (!current) {
    await w.client.createDeployment(desired);
    return { name, replicas, changed: true };
  }
  if (current.spec?.replicas === replicas && sameJson(current.spec?.template, desired.spec.template)) return { name, replicas, changed: false };
  // A JSON patch replaces the template whole, so fields since removed from the main Deployment go from the canary too.
  await w.client.patch('Deployment', w.namespace, name, {
    strategy: 'json',
    body: [
      { op: 'replace', path: '/spec/template', value: desired.spec.template },
      { op: 'replace', path: '/spec/replicas', value: replicas },
    ],
  });
  return { name, replicas, changed: true };
}

/** The canary's rollout, as `kubectl rollout status` would report it. */
export async function canaryState(w: TargetWorkload): Promise<RolloutState> {
  requireDeployment(w, 'an in-workload canary');
  const canary = await w.client.find('Deployment', w.namespace, canaryName(w.name));
  if (!canary) throw new WorkloadNotFoundError('Deployment', w.namespace, canaryName(w.name));
  return rolloutState(canary);
}

/**
 * Sets the images on the main Deployment, follows its rollout, and removes the canary once the rollout is
 * done (while it runs, the canary keeps serving its share). A failed rollout leaves the canary in place for
 * the caller's rollback to remove. Safe to repeat: each step is idempotent.
 */
export async function promoteCanary(w: TargetWorkload, images: readonly ImageChange[], cause: string, options: FollowOptions): Promise<RolloutState> {
  requireDeployment(w, 'an in-workload canary');
  await operations.setImages(w, images, cause);
  const state = await operations.waitForRollout(w, options);
  if (state.state === 'done') await removeCanary(w);
  return state;
}

/** Deletes the canary (its ReplicaSets and pods follow); false when there was none. */
export async function removeCanary(w: TargetWorkload): Promise<{ deleted: boolean }> {
  requireDeployment(w, 'an in-workload canary');
  return { deleted: await w.client.deleteDeployment(w.namespace, canaryName(w.name)) };
}
