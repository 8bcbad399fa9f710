/**
 * The in-workload canary, without a service mesh: a Deployment `<name>-canary` next to the main one, with the
 * new images and a share of its replicas. Traffic splits by pod count: a Service selecting the app's labels
 * sends the canary about `canary / (main + canary)` of the requests.
 */
import { variantDeployment } from './workload-rollout.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Deployment JSON, read defensively
type Obj = Record<string, any>;

/** On the canary's selector and pod labels, so neither Deployment adopts the other's ReplicaSets. */
export const CANARY_LABEL = 'shipway.dev/canary';

export const canaryName = (name: string): string => `${name}-canary`;

/** `percent` % of the main workload's replicas, rounded up: a canary always runs at least one pod. */
export function canaryReplicas(mainReplicas: number, percent: number): number {
  if (!Number.isFinite(percent) || percent <= 0 || percent > 100) throw new RangeError(`canary percent must be in (0, 100], got ${percent}`);
  return Math.max(1, Math.ceil((Math.max(0, mainReplicas) * percent) / 100));
}

/** The canary Deployment for `main` with `images` (by container name), owned by `main` so it goes when main does. */
export function canaryDeployment(main: Obj, images: Readonly<Record<string, string>>, percent: number): Obj {
  const canary = variantDeployment(main, {
    name: canaryName(String(main.metadata?.name)),
    labels: { [CANARY_LABEL]: 'true' },
    replicas: canaryReplicas(main.spec?.replicas ?? 1, percent),
    images,
  });
  canary.metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'Deployment', name: main.metadata?.name, uid: main.metadata?.uid, controller: false, blockOwnerDeletion: false }];
  return canary;
}
