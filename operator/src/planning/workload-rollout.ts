/**
 * What the Kubernetes driver needs to know about a workload, without I/O: the patch that sets a container's
 * image, whether a rollout is done, progressing or failed (the checks `kubectl rollout status` makes), and
 * which ReplicaSet a rollback returns to (as `kubectl rollout undo` picks it).
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- workload JSON of three kinds, read defensively
type Obj = Record<string, any>;

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';

export class WorkloadError extends Error {}

/** The container to update: the named one, or the first. */
export function containerOf(workload: Obj, container?: string): Obj {
  const containers = (workload.spec?.template?.spec?.containers ?? []) as Obj[];
  const found = container ? containers.find((c) => c.name === container) : containers[0];
  if (!found) throw new WorkloadError(container ? `container "${container}" not found in ${workload.kind}/${workload.metadata?.name}` : `${workload.kind}/${workload.metadata?.name} has no containers`);
  return found;
}

/** `registry/app:1.2` → `1.2`; digests and untagged images give undefined. */
export function imageTag(image: string): string | undefined {
  if (image.includes('@')) return undefined;
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? image.slice(colon + 1) : undefined;
}

/** The image with its tag replaced (or added). */
export function withTag(image: string, tag: string): string {
  const base = image.split('@')[0]!;
  const slash = base.lastIndexOf('/');
  const colon = base.lastIndexOf(':');
  return `${colon > slash ? base.slice(0, colon) : base}:${tag}`;
}

/**
 * A strategic merge patch that sets one container's image (the merge key `name` leaves the other
 * containers alone), plus annotations recording why, as `kubectl set image` + `change-cause` would.
 */
export function setImagePatch(container: string, image: string, annotations: Record<string, string> = {}): Obj {
  return {
    ...(Object.keys(annotations).length > 0 ? { metadata: { annotations } } : {}),
    spec: { template: { spec: { containers: [{ name: container, image }] } } },
  };
}

export type RolloutState =
  | { state: 'done'; message: string }
  | { state: 'progressing'; message: string }
  | { state: 'failed'; reason: string; message: string };

/** The checks of `kubectl rollout status` for each kind, with the same messages. */
export function rolloutState(workload: Obj): RolloutState {
  const name = workload.metadata?.name;
  const generation = workload.metadata?.generation ?? 0;
  const status = workload.status ?? {};
  const observed = status.observedGeneration ?? 0;
  if (generation > observed) return { state: 'progressing', message: `Waiting for ${String(workload.kind).toLowerCase()} spec update to be observed...` };
  switch (workload.kind as WorkloadKind) {
    case 'Deployment': {
      const progressing = (status.conditions ?? []).find((c: Obj) => c.type === 'Progressing');
      if (progressing?.reason === 'ProgressDeadlineExceeded') return { state: 'failed', reason: 'ProgressDeadlineExceeded', message: `deployment "${name}" exceeded its progress deadline` };
      const desired = workload.spec?.replicas ?? 1;
      const updated = status.updatedReplicas ?? 0;
      const replicas = status.replicas ?? 0;
      const available = status.availableReplicas ?? 0;
      if (updated < desired) return { state: 'progressing', message: `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${desired} new replicas have been updated...` };
      if (replicas > updated) return { state: 'progressing', message: `Waiting for deployment "${name}" rollout to finish: ${replicas - updated} old replicas are pending termination...` };
      if (available < updated) return { state: 'progressing', message: `Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available...` };
      return { state: 'done', message: `deployment "${name}" successfully rolled out` };
    }
    case 'StatefulSet': {
      const desired = workload.spec?.replicas ?? 1;
      const ready = status.readyReplicas ?? 0;
      if (ready < desired) return { state: 'progressing', message: `Waiting for ${desired - ready} pods to be ready...` };
      const partition = workload.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
      if (workload.spec?.updateStrategy?.type === 'RollingUpdate' && partition > 0) {
        const updated = status.updatedReplicas ?? 0;
        if (updated < desired - partition) return { state: 'progressing', message: `Waiting for partitioned roll out to finish: ${updated} out of ${desired - partition} new pods have been updated...` };
        return { state: 'done', message: `partitioned roll out complete: ${updated} new pods have been updated...` };
      }
      if (status.updateRevision !== status.currentRevision) return { state: 'progressing', message: `waiting for statefulset rolling update to complete ${status.updatedReplicas ?? 0} pods at revision ${status.updateRevision}...` };
      return { state: 'done', message: `statefulset rolling update complete ${status.currentReplicas ?? 0} pods at revision ${status.currentRevision}...` };
    }
    case 'DaemonSet': {
      const desired = status.desiredNumberScheduled ?? 0;
      const updated = status.updatedNumberScheduled ?? 0;
      const available = status.numberAvailable ?? 0;
      if (updated < desired) return { state: 'progressing', message: `Waiting for daemon set "${name}" rollout to finish: ${updated} out of ${desired} new pods have been updated...` };
      if (available < desired) return { state: 'progressing', message: `Waiting for daemon set "${name}" rollout to finish: ${available} of ${desired} updated pods are available...` };
      return { state: 'done', message: `daemon set "${name}" successfully rolled out` };
    }
    default:
      throw new WorkloadError(`unsupported workload kind ${workload.kind}`);
  }
}

const revisionOf = (rs: Obj) => Number(rs.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0);

/**
 * The ReplicaSet a rollback returns to: with `toRevision` that revision, else the newest revision before
 * the current one — only ReplicaSets the Deployment controls (by uid), as `kubectl rollout undo` does.
 */
export function rollbackTarget(deployment: Obj, replicaSets: readonly Obj[], toRevision?: number): Obj {
  const owned = replicaSets.filter((rs) => (rs.metadata?.ownerReferences ?? []).some((r: Obj) => r.controller && r.uid === deployment.metadata?.uid));
  if (owned.length === 0) throw new WorkloadError(`no rollout history found for deployment "${deployment.metadata?.name}"`);
  const current = Number(deployment.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? Math.max(...owned.map(revisionOf)));
  if (toRevision !== undefined) {
    const found = owned.find((rs) => revisionOf(rs) === toRevision);
    if (!found) throw new WorkloadError(`unable to find specified revision ${toRevision} in history`);
    return found;
  }
  const previous = owned.filter((rs) => revisionOf(rs) < current).sort((a, b) => revisionOf(b) - revisionOf(a))[0];
  if (!previous) throw new WorkloadError(`no previous revision of deployment "${deployment.metadata?.name}" to roll back to`);
  return previous;
}

/** The JSON patch `kubectl rollout undo` sends: the old template, without the pod-template-hash label. */
export function rollbackPatch(replicaSet: Obj): Obj[] {
  const template = structuredClone(replicaSet.spec?.template ?? {});
  if (template.metadata?.labels) delete template.metadata.labels['pod-template-hash'];
  return [{ op: 'replace', path: '/spec/template', value: template }];
}

/** The version (image tag) of a workload's container, for history and installations. */
export function runningVersion(workload: Obj, container?: string): string | undefined {
  return imageTag(String(containerOf(workload, container).image ?? ''));
}
