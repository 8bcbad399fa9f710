/**
 * The StatefulSet controller: pods `<name>-0..n-1` with stable names (hostname, subdomain, the
 * `statefulset.kubernetes.io/pod-name` and `apps.kubernetes.io/pod-index` labels), PersistentVolumeClaims
 * from volumeClaimTemplates, ControllerRevisions `<name>-<hash>` for history, OrderedReady (one pod at a
 * time, waiting for readiness) or Parallel management, and RollingUpdate from the highest ordinal down to
 * the partition (OnDelete leaves pods alone). Status as the real controller reports it.
 */
import type { KubeApi } from '../api.ts';
import type { EmulatorOptions } from '../emulator.ts';
import type { ResourceType } from '../resource-types.ts';
import type { KubeObject, StoreEvent } from '../store.ts';
import { StoreController } from './store-controller.ts';
import {
  asController,
  availableIn,
  claim,
  isPodActive,
  isRunningAndReady,
  keyOf,
  newControllerRef,
  omitZero,
  ownerKeys,
  podFromTemplate,
  revisionTemplate,
  sameJson,
  splitKey,
  syncRevisions,
  truncateHistory,
} from './workload-util.ts';

const REVISION_LABEL = 'controller-revision-hash';
const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

export function startStatefulSetController(api: KubeApi, _options: EmulatorOptions = {}): () => void {
  const controller = new StatefulSetController(api);
  return () => controller.stop();
}

const revisionOf = (pod: KubeObject): string | undefined => pod.metadata.labels?.[REVISION_LABEL];

class StatefulSetController extends StoreController {
  private readonly pods: ResourceType;
  private readonly claims: ResourceType;

  constructor(api: KubeApi) {
    super(api, 'statefulset-controller', api.mustType('apps', 'statefulsets'));
    this.pods = api.mustType('', 'pods');
    this.claims = api.mustType('', 'persistentvolumeclaims');
  }

  protected onEvent(event: StoreEvent): void {
    if (event.resource === 'apps/statefulsets') this.queue.add(keyOf(event.object));
    else if (event.resource === '/pods' || event.resource === 'apps/controllerrevisions') {
      for (const key of ownerKeys(event, 'StatefulSet')) this.queue.add(key);
    }
  }

  protected sync(key: string): void {
    const [namespace, name] = splitKey(key);
    const stored = this.api.store.get('apps/statefulsets', namespace, name);
    if (!stored) return;
    const set = structuredClone(stored);
    if (set.metadata.deletionTimestamp) {
      // Being deleted: the garbage collector removes the pods; only report what is left.
      const revisions = this.api.list(this.api.mustType('apps', 'controllerrevisions'), namespace).filter((r) => r.metadata.ownerReferences?.some((o: KubeObject) => o.uid === set.metadata.uid));
      const update = revisions.find((r) => r.metadata.name === set.status?.updateRevision);
      if (update) this.updateStatus(key, update, update, revisions);
      return;
    }
    const { update, all } = syncRevisions(this.api, set, 'StatefulSet');
    const current = all.find((r) => r.metadata.name === set.status?.currentRevision) ?? update;
    const pods = claim(this.api, this.pods, set, 'apps/v1', 'StatefulSet');
    this.manage(set, pods, current, update);
    this.updateStatus(key, current, update, all);
  }

  private ordinalOf(set: KubeObject, pod: KubeObject): number {
    const prefix = `${set.metadata.name}-`;
    const name = pod.metadata.name as string;
    if (!name.startsWith(prefix) || !/^\d+$/.test(name.slice(prefix.length))) return -1;
    return Number(name.slice(prefix.length));
  }

  private manage(set: KubeObject, pods: KubeObject[], current: KubeObject, update: KubeObject): void {
    const replicas = set.spec.replicas ?? 1;
    const monotonic = (set.spec.podManagementPolicy ?? 'OrderedReady') !== 'Parallel';
    const rolling = (set.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    const partition = rolling ? (set.spec.updateStrategy?.rollingUpdate?.partition ?? 0) : 0;
    const byOrdinal = new Map<number, KubeObject>();
    const condemned: KubeObject[] = [];
    for (const pod of pods) {
      const ordinal = this.ordinalOf(set, pod);
      if (ordinal >= 0 && ordinal < replicas) byOrdinal.set(ordinal, pod);
      else condemned.push(pod);
    }

    // Failed pods are replaced.
    for (const pod of byOrdinal.values()) {
      if (pod.status?.phase === 'Failed' && !pod.metadata.deletionTimestamp) {
        this.api.delete(this.pods, pod.metadata.namespace, pod.metadata.name, {});
        if (monotonic) return;
      }
    }

    // Create missing pods in order, waiting for each to be Running and Ready under OrderedReady.
    for (let i = 0; i < replicas; i++) {
      const pod = byOrdinal.get(i);
      if (!pod) {
        const useCurrent = rolling && i < partition && current.metadata.name !== update.metadata.name;
        this.createPod(set, i, useCurrent ? current : update, useCurrent ? (revisionTemplate(current) ?? set.spec.template) : set.spec.template);
        if (monotonic) return;
        continue;
      }
      if (monotonic && (pod.metadata.deletionTimestamp || !isRunningAndReady(pod))) return;
    }

    // Scale down from the highest ordinal, one at a time under OrderedReady.
    condemned.sort((a, b) => this.ordinalOf(set, b) - this.ordinalOf(set, a));
    for (const pod of condemned) {
      if (pod.metadata.deletionTimestamp) {
        if (monotonic) return;
        continue;
      }
      this.api.delete(this.pods, pod.metadata.namespace, pod.metadata.name, {});
      if (monotonic) return;
    }

    // Rolling update: replace the highest ordinal not at the update revision, once the ones above are healthy.
    if (!rolling) return;
    for (let i = replicas - 1; i >= partition; i--) {
      const pod = byOrdinal.get(i);
      if (!pod) return;
      if (revisionOf(pod) !== update.metadata.name && !pod.metadata.deletionTimestamp) {
        this.api.delete(this.pods, pod.metadata.namespace, pod.metadata.name, {});
        return;
      }
      if (!isRunningAndReady(pod)) return;
    }
  }

  private createPod(set: KubeObject, ordinal: number, revision: KubeObject, template: KubeObject): void {
    const ns = set.metadata.namespace;
    const podName = `${set.metadata.name}-${ordinal}`;
    const pod = podFromTemplate(template, ns, newControllerRef(set, 'apps/v1', 'StatefulSet'), { name: podName });
    pod.metadata.labels = { ...pod.metadata.labels, [REVISION_LABEL]: revision.metadata.name, [POD_NAME_LABEL]: podName, [POD_INDEX_LABEL]: String(ordinal) };
    pod.spec.hostname = podName;
    if (set.spec.serviceName) pod.spec.subdomain = set.spec.serviceName;
    for (const claimTemplate of (set.spec.volumeClaimTemplates ?? []) as KubeObject[]) {
      const volume = claimTemplate.metadata?.name as string;
      const claimName = this.ensureClaim(set, claimTemplate, podName);
      pod.spec.volumes = [...((pod.spec.volumes ?? []) as KubeObject[]).filter((v) => v.name !== volume), { name: volume, persistentVolumeClaim: { claimName } }];
    }
    this.api.create(this.pods, ns, pod, asController());
  }

  /** The claim `<template>-<pod>`, created (and shown Bound) when missing; it outlives the pod, as by default. */
  private ensureClaim(set: KubeObject, claimTemplate: KubeObject, podName: string): string {
    const ns = set.metadata.namespace;
    const name = `${claimTemplate.metadata?.name}-${podName}`;
    if (this.api.store.get('/persistentvolumeclaims', ns, name)) return name;
    const spec = structuredClone(claimTemplate.spec ?? {});
    spec.volumeMode ??= 'Filesystem';
    const created = this.api.create(this.claims, ns, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name,
        namespace: ns,
        labels: { ...(claimTemplate.metadata?.labels ?? {}), ...(set.spec.selector?.matchLabels ?? {}) },
        ...(claimTemplate.metadata?.annotations ? { annotations: { ...claimTemplate.metadata.annotations } } : {}),
      },
      spec,
    }, asController());
    const status = { phase: 'Bound', accessModes: spec.accessModes ?? ['ReadWriteOnce'], capacity: { storage: spec.resources?.requests?.storage ?? '1Gi' } };
    this.api.update(this.claims, ns, name, { ...created, status }, 'status', asController());
    return name;
  }

  private updateStatus(key: string, current: KubeObject, update: KubeObject, revisions: KubeObject[]): void {
    const [namespace, name] = splitKey(key);
    const set = this.api.store.get('apps/statefulsets', namespace, name);
    if (!set) return;
    const pods = this.api.list(this.pods, namespace).filter((p) => p.metadata.ownerReferences?.some((o: KubeObject) => o.controller && o.uid === set.metadata.uid));
    const minReadySeconds = set.spec.minReadySeconds ?? 0;
    const nowMs = this.api.clock().getTime();
    let replicas = 0;
    let ready = 0;
    let available = 0;
    let currentReplicas = 0;
    let updatedReplicas = 0;
    let nextAvailable: number | undefined;
    for (const pod of pods) {
      if (pod.status?.phase) replicas++;
      if (isRunningAndReady(pod)) {
        ready++;
        const wait = availableIn(pod, minReadySeconds, nowMs);
        if (wait === 0) available++;
        else if (wait !== undefined) nextAvailable = Math.min(nextAvailable ?? wait, wait);
      }
      if (pod.status?.phase && isPodActive(pod)) {
        if (revisionOf(pod) === current.metadata.name) currentReplicas++;
        if (revisionOf(pod) === update.metadata.name) updatedReplicas++;
      }
    }
    let currentRevision = current.metadata.name as string;
    const rolling = (set.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    if (rolling && updatedReplicas === replicas && ready === replicas) {
      // The rolling update is complete: the update revision becomes the current one.
      currentReplicas = updatedReplicas;
      currentRevision = update.metadata.name;
    }
    const status = omitZero(
      {
        observedGeneration: set.metadata.generation,
        replicas,
        readyReplicas: ready,
        currentReplicas,
        updatedReplicas,
        currentRevision,
        updateRevision: update.metadata.name,
        collisionCount: set.status?.collisionCount ?? 0,
        ...(set.status?.conditions ? { conditions: set.status.conditions } : {}),
        availableReplicas: available,
      },
      ['observedGeneration', 'readyReplicas', 'currentReplicas', 'updatedReplicas'],
    );
    if (!sameJson(set.status ?? {}, status)) this.api.update(this.primary, namespace, name, { ...set, status }, 'status', asController());
    if (nextAvailable !== undefined) this.queue.addAfter(key, nextAvailable + 10);
    if (!set.metadata.deletionTimestamp) {
      const live = new Set<string>([currentRevision, update.metadata.name, ...pods.map((p) => revisionOf(p) ?? '')]);
      truncateHistory(this.api, revisions, live, set.spec.revisionHistoryLimit ?? 10);
    }
  }
}
