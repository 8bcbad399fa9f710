/**
 * What the driver does to one workload: observe it, set images, follow the rollout, roll back as
 * `kubectl rollout undo` does, and prune old revisions. Every write is computed from a fresh read, and
 * writes nothing when the workload is already where it should be.
 */
import type { RolloutState } from '../planning/workload-rollout.ts';
import {
  containerOf,
  imageChanges,
  imagesOf,
  prunableHistory,
  rollbackAnnotations,
  rollbackPatch,
  rollbackRevision,
  rollbackTarget,
  rolloutState,
  runningVersion,
  setImagesPatch,
  withTag,
  type HistoryEntry,
} from '../planning/workload-rollout.ts';
import type { ImageChange, WorkloadObservation } from '../tasks/task-executor.ts';
import { followRollout, type FollowOptions } from './rollout-wait.ts';
import type { TargetWorkload } from './target-workload.ts';
import type { KubeObject } from './workload-client.ts';

export const CHANGE_CAUSE = 'kubernetes.io/change-cause';
const DEPLOYMENT_REVISION = 'deployment.kubernetes.io/revision';

const deploymentRevision = (o: KubeObject): number | undefined => {
  const value = o.metadata?.annotations?.[DEPLOYMENT_REVISION];
  return value === undefined ? undefined : Number(value);
};

/** The newest ControllerRevision number: the controllers renumber the one in use to the newest. */
const newestRevision = (revisions: readonly KubeObject[]): number | undefined =>
  revisions.length === 0 ? undefined : Math.max(...revisions.map((r) => Number(r.revision) || 0));

export async function observe(w: TargetWorkload): Promise<WorkloadObservation> {
  const workload = await w.client.read(w.kind, w.namespace, w.name);
  const revision = w.kind === 'Deployment' ? deploymentRevision(workload) : newestRevision(await w.client.history(workload));
  const version = runningVersion(workload, w.container);
  return {
    kind: w.kind,
    generation: Number(workload.metadata?.generation ?? 0),
    images: imagesOf(workload),
    ...(version !== undefined ? { version } : {}),
    replicas: w.kind === 'DaemonSet' ? Number(workload.status?.desiredNumberScheduled ?? 0) : Number(workload.spec?.replicas ?? 1),
    rollout: rolloutState(workload),
    ...(revision !== undefined && Number.isFinite(revision) ? { revision } : {}),
  };
}

/**
 * Sets the images that differ, in one strategic merge patch (merge key `name`: other containers stay as
 * they are), recording `cause` as `kubernetes.io/change-cause`. When nothing differs nothing is sent — a
 * restarted operator repeating the step changes nothing.
 */
export async function setImages(w: TargetWorkload, images: readonly ImageChange[], cause: string): Promise<{ changed: boolean; previous: Record<string, string> }> {
  const workload = await w.client.read(w.kind, w.namespace, w.name);
  const previous = imagesOf(workload);
  const wanted = imageChanges(workload, images, w.container);
  const differing = Object.fromEntries(Object.entries(wanted).filter(([container, image]) => previous[container] !== image));
  if (Object.keys(differing).length === 0) return { changed: false, previous };
  await w.client.patch(w.kind, w.namespace, w.name, { strategy: 'strategic', body: setImagesPatch(differing, { [CHANGE_CAUSE]: cause }) });
  return { changed: true, previous };
}

export function waitForRollout(w: TargetWorkload, options: FollowOptions): Promise<RolloutState> {
  return followRollout(() => w.client.read(w.kind, w.namespace, w.name), options);
}

/**
 * Without `toVersion`, `kubectl rollout undo`: a Deployment gets the previous ReplicaSet's template and
 * annotations in a JSON patch; a StatefulSet or DaemonSet gets the previous ControllerRevision's data as a
 * strategic merge patch. With `toVersion`, the Target's container gets that tag. Not idempotent without
 * `toVersion` (undo twice toggles, as with kubectl): a caller that may repeat the step passes the version.
 */
export async function rollback(w: TargetWorkload, options: { toVersion?: string; cause: string }): Promise<{ images: Record<string, string> }> {
  const workload = await w.client.read(w.kind, w.namespace, w.name);
  if (options.toVersion !== undefined) {
    const container = containerOf(workload, w.container);
    await setImages(w, [{ container: String(container.name), image: withTag(String(container.image ?? ''), options.toVersion) }], options.cause);
    return { images: imagesOf(await w.client.read(w.kind, w.namespace, w.name)) };
  }
  const history = await w.client.history(workload);
  if (w.kind === 'Deployment') {
    const replicaSet = rollbackTarget(workload, history);
    const patched = await w.client.patch(w.kind, w.namespace, w.name, {
      strategy: 'json',
      body: [...rollbackPatch(replicaSet), { op: 'add', path: '/metadata/annotations', value: { ...rollbackAnnotations(workload, replicaSet), [CHANGE_CAUSE]: options.cause } }],
    });
    return { images: imagesOf(patched) };
  }
  const revision = rollbackRevision(workload, history);
  const patched = await w.client.patch(w.kind, w.namespace, w.name, {
    strategy: 'strategic',
    body: { ...structuredClone(revision.data ?? {}), metadata: { annotations: { [CHANGE_CAUSE]: options.cause } } },
  });
  return { images: imagesOf(patched) };
}

/** Deletes ReplicaSets / ControllerRevisions beyond the newest `keepVersions`; the current one and any still running pods stay. */
export async function cleanup(w: TargetWorkload, keepVersions: number): Promise<{ deleted: string[] }> {
  const workload = await w.client.read(w.kind, w.namespace, w.name);
  const history = await w.client.history(workload);
  const entries: HistoryEntry[] =
    w.kind === 'Deployment'
      ? history.map((rs) => ({
          name: String(rs.metadata.name),
          revision: deploymentRevision(rs) ?? 0,
          live: deploymentRevision(rs) === deploymentRevision(workload) || Number(rs.spec?.replicas ?? 0) > 0 || Number(rs.status?.replicas ?? 0) > 0,
        }))
      : history.map((r) => ({
          name: String(r.metadata.name),
          revision: Number(r.revision) || 0,
          live: Number(r.revision) === newestRevision(history) || r.metadata.name === workload.status?.currentRevision || r.metadata.name === workload.status?.updateRevision,
        }));
  const deleted: string[] = [];
  for (const name of prunableHistory(entries, Math.max(0, Math.floor(keepVersions)))) {
    if (await w.client.deleteRevision(workload, name)) deleted.push(name);
  }
  return { deleted };
}
