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

/** Images per container name. */
export function imagesOf(workload: Obj): Record<string, string> {
  const containers = (workload.spec?.template?.spec?.containers ?? []) as Obj[];
  return Object.fromEntries(containers.map((c) => [String(c.name), String(c.image ?? '')]));
}

/** Like {@link setImagePatch} for several containers at once: one write, one new revision. */
export function setImagesPatch(images: Readonly<Record<string, string>>, annotations: Record<string, string> = {}): Obj {
  return {
    ...(Object.keys(annotations).length > 0 ? { metadata: { annotations } } : {}),
    spec: { template: { spec: { containers: Object.entries(images).map(([name, image]) => ({ name, image })) } } },
  };
}

/** Annotations a rollback neither takes from the old ReplicaSet nor drops from the Deployment (kubectl's annotationsToSkip). */
const ROLLBACK_KEEPS = [
  'kubectl.kubernetes.io/last-applied-configuration',
  'deployment.kubernetes.io/revision',
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
];

/**
 * The Deployment annotations after `kubectl rollout undo`: the bookkeeping ones stay, everything else comes
 * from the ReplicaSet rolled back to — so its `kubernetes.io/change-cause` returns with its template.
 */
export function rollbackAnnotations(deployment: Obj, replicaSet: Obj): Record<string, string> {
  const current = (deployment.metadata?.annotations ?? {}) as Record<string, string>;
  const kept = Object.fromEntries(ROLLBACK_KEEPS.filter((k) => k in current).map((k) => [k, current[k]!]));
  const fromReplicaSet = Object.entries((replicaSet.metadata?.annotations ?? {}) as Record<string, string>).filter(([k]) => !ROLLBACK_KEEPS.includes(k));
  return { ...kept, ...Object.fromEntries(fromReplicaSet) };
}

const controlledBy = (owner: Obj) => (o: Obj) => (o.metadata?.ownerReferences ?? []).some((r: Obj) => r.controller && r.uid === owner.metadata?.uid);

/**
 * The ControllerRevision a StatefulSet or DaemonSet rollback returns to, as kubectl picks it: `toRevision`,
 * else the second newest (the controllers renumber a reused revision to the newest, so undo twice toggles).
 * Its `data` is a strategic merge patch (`spec.template` with `$patch: replace`).
 */
export function rollbackRevision(workload: Obj, revisions: readonly Obj[], toRevision?: number): Obj {
  const history = revisions.filter(controlledBy(workload)).sort((a, b) => Number(a.revision) - Number(b.revision));
  if (toRevision !== undefined) {
    const found = history.find((r) => Number(r.revision) === toRevision);
    if (!found) throw new WorkloadError(`unable to find specified revision ${toRevision} in history`);
    return found;
  }
  if (history.length < 2) throw new WorkloadError(`no last revision to roll back to for ${String(workload.kind).toLowerCase()} "${workload.metadata?.name}"`);
  return history[history.length - 2]!;
}

export interface HistoryEntry {
  name: string;
  revision: number;
  /** The current revision, or one that still runs pods: never deleted. */
  live: boolean;
}

/** Revisions beyond the newest `keep` that are not live, oldest first: what a cleanup deletes. */
export function prunableHistory(entries: readonly HistoryEntry[], keep: number): string[] {
  const newestFirst = [...entries].sort((a, b) => b.revision - a.revision);
  return newestFirst
    .slice(Math.max(0, keep))
    .filter((e) => !e.live)
    .reverse()
    .map((e) => e.name);
}

const canonical = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(canonical);
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Obj)
      .filter(([, v]) => v !== undefined && v !== null)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, canonical(v)]));
  }
  return value;
};

/** Equal as JSON, ignoring key order and absent-versus-null fields (typed clients fill unset fields with undefined). */
export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/**
 * A second Deployment next to `main` (a canary, the other blue-green colour): the same pod template under
 * another name, with extra labels in its selector and pod labels so the two never claim each other's
 * ReplicaSets, while the app's own labels stay — a Service selecting the app routes to both.
 */
export function variantDeployment(main: Obj, variant: { name: string; labels: Record<string, string>; replicas: number; images: Readonly<Record<string, string>> }): Obj {
  const spec = main.spec ?? {};
  const template = structuredClone(spec.template ?? {});
  const { creationTimestamp: _created, ...templateMeta } = template.metadata ?? {};
  for (const container of (template.spec?.containers ?? []) as Obj[]) {
    const image = variant.images[container.name];
    if (image !== undefined) container.image = image;
  }
  const copied = Object.fromEntries(['minReadySeconds', 'progressDeadlineSeconds', 'revisionHistoryLimit', 'strategy'].filter((k) => spec[k] !== undefined && spec[k] !== null).map((k) => [k, structuredClone(spec[k])]));
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: variant.name, namespace: main.metadata?.namespace, labels: { ...(main.metadata?.labels ?? {}), ...variant.labels } },
    spec: {
      ...copied,
      replicas: variant.replicas,
      selector: { ...structuredClone(spec.selector ?? {}), matchLabels: { ...(spec.selector?.matchLabels ?? {}), ...variant.labels } },
      template: { ...template, metadata: { ...templateMeta, labels: { ...(templateMeta.labels ?? {}), ...variant.labels } } },
    },
  };
}

/**
 * The image each named container gets: a change without a container goes to `defaultContainer` (the
 * Target's `container`), else to the first. Unknown containers are an error, not a silent no-op.
 */
export function imageChanges(workload: Obj, changes: readonly { container?: string; image: string }[], defaultContainer?: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const change of changes) out[String(containerOf(workload, change.container ?? defaultContainer).name)] = change.image;
  return out;
}
