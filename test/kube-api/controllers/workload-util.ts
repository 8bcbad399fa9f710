/** Helpers the workload controllers share: owner references, pod states, templates, keys and small maths. */
import { isDeepStrictEqual } from 'node:util';
import type { KubeApi, WriteOptions } from '../api.ts';
import { normalise, templateHash } from '../builtin-hooks.ts';
import { now } from '../object-meta.ts';
import type { ResourceType } from '../resource-types.ts';
import { labelSelectorFromObject, type LabelSelector } from '../../../operator/src/planning/selectors.ts';
import type { KubeObject, StoreEvent } from '../store.ts';

/** The single node the emulator pretends to have. */
export const NODE_NAME = 'emulator-node';
export const NODE_IP = '172.18.0.2';

export const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

export function controllerRefOf(o: KubeObject | undefined): KubeObject | undefined {
  return ((o?.metadata?.ownerReferences ?? []) as KubeObject[]).find((r) => r.controller === true);
}

export function isControlledBy(o: KubeObject, owner: KubeObject): boolean {
  return controllerRefOf(o)?.uid === owner.metadata.uid;
}

export function newControllerRef(owner: KubeObject, apiVersion: string, kind: string): KubeObject {
  return { apiVersion, kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true };
}

/** Keys of the controllers of an event's object, before and after (a MODIFIED event may change owners). */
export function ownerKeys(event: StoreEvent, kind: string): string[] {
  const keys = new Set<string>();
  for (const o of [event.object, event.previous]) {
    const ref = controllerRefOf(o);
    if (ref && ref.kind === kind) keys.add(`${o!.metadata.namespace ?? ''}/${ref.name}`);
  }
  return [...keys];
}

export function selectorOf(owner: KubeObject): LabelSelector {
  try {
    return labelSelectorFromObject(owner.spec?.selector);
  } catch {
    return () => false;
  }
}

/**
 * The objects of `type` in the owner's namespace it controls, adopting orphans its selector matches (as the
 * real controllers' ClaimPods/ClaimReplicaSets do). Adoption is skipped while the owner is being deleted.
 */
export function claim(api: KubeApi, type: ResourceType, owner: KubeObject, apiVersion: string, kind: string): KubeObject[] {
  const selector = selectorOf(owner);
  const out: KubeObject[] = [];
  for (const o of api.list(type, owner.metadata.namespace)) {
    const ref = controllerRefOf(o);
    if (ref) {
      if (ref.uid === owner.metadata.uid) out.push(o);
      continue;
    }
    if (owner.metadata.deletionTimestamp || o.metadata.deletionTimestamp || !selector(o.metadata.labels ?? {})) continue;
    const next = structuredClone(o);
    next.metadata.ownerReferences = [...(next.metadata.ownerReferences ?? []), newControllerRef(owner, apiVersion, kind)];
    out.push(api.update(type, o.metadata.namespace, o.metadata.name, next, undefined, asController()));
  }
  return out;
}

// ---- pods -----------------------------------------------------------------------------------------

export function podCondition(pod: KubeObject, type: string): KubeObject | undefined {
  return ((pod.status?.conditions ?? []) as KubeObject[]).find((c) => c.type === type);
}

export function isPodReady(pod: KubeObject): boolean {
  return podCondition(pod, 'Ready')?.status === 'True';
}

export function isPodTerminal(pod: KubeObject): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** controller.IsPodActive: not finished and not being deleted. */
export function isPodActive(pod: KubeObject): boolean {
  return !isPodTerminal(pod) && !pod.metadata.deletionTimestamp;
}

export function isRunningAndReady(pod: KubeObject): boolean {
  return pod.status?.phase === 'Running' && isPodReady(pod);
}

/**
 * Milliseconds until the pod counts as available (ready for minReadySeconds): 0 when it already does,
 * undefined when it is not ready at all.
 */
export function availableIn(pod: KubeObject, minReadySeconds: number, nowMs: number): number | undefined {
  const ready = podCondition(pod, 'Ready');
  if (ready?.status !== 'True') return undefined;
  if (!minReadySeconds) return 0;
  const since = Date.parse(ready.lastTransitionTime ?? '');
  if (Number.isNaN(since)) return 0;
  return Math.max(0, since + minReadySeconds * 1000 - nowMs);
}

/** A pod for `template` as controller.GetPodFromTemplate builds it, on the emulator's node. */
export function podFromTemplate(template: KubeObject, namespace: string, owner: KubeObject, name: { name?: string; generateName?: string }): KubeObject {
  const meta = template.metadata ?? {};
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...(name.name ? { name: name.name } : {}),
      ...(name.generateName ? { generateName: name.generateName } : {}),
      namespace,
      labels: { ...(meta.labels ?? {}) },
      ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
      ...(meta.finalizers ? { finalizers: [...meta.finalizers] } : {}),
      ownerReferences: [owner],
    },
    spec: structuredClone(template.spec ?? {}),
  };
  pod.spec.nodeName ??= NODE_NAME;
  return pod;
}

/** Pods that go first when scaling down: unscheduled, pending, not ready, ready for less time, more restarts, newer. */
export function deletionOrder(a: KubeObject, b: KubeObject): number {
  const rank = (p: KubeObject): number[] => {
    const ready = podCondition(p, 'Ready');
    const phase = p.status?.phase === 'Pending' ? 0 : p.status?.phase === 'Running' ? 2 : 1;
    const restarts = ((p.status?.containerStatuses ?? []) as KubeObject[]).reduce((n, c) => n + (c.restartCount ?? 0), 0);
    return [
      p.spec?.nodeName ? 1 : 0,
      phase,
      ready?.status === 'True' ? 1 : 0,
      ready?.status === 'True' ? -Date.parse(ready.lastTransitionTime ?? '') || 0 : 0,
      -restarts,
      -Date.parse(p.metadata.creationTimestamp ?? '') || 0,
    ];
  };
  const ra = rank(a);
  const rb = rank(b);
  for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
  return 0;
}

// ---- misc -------------------------------------------------------------------------------------------

export function byCreation(a: KubeObject, b: KubeObject): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/** intstr.GetScaledValueFromIntOrPercent. */
export function resolveIntOrPercent(value: unknown, total: number, roundUp: boolean, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'number') return value;
  const m = /^(\d+)%$/.exec(String(value));
  if (!m) return Number.parseInt(String(value), 10) || 0;
  const scaled = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

/** Drops the listed fields when they are 0, as `omitempty` does for a real server's status structs. */
export function omitZero<T extends KubeObject>(status: T, fields: string[]): T {
  for (const f of fields) if (status[f] === 0 || status[f] === undefined) delete status[f];
  if (Array.isArray(status.conditions) && status.conditions.length === 0) delete status.conditions;
  return status;
}

export function sameJson(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(a ?? null)), JSON.parse(JSON.stringify(b ?? null)));
}

export const timestamp = (api: KubeApi) => now(api.clock);

/** Write options of the controllers: their writes show in managedFields as kube-controller-manager's, as on a cluster. */
export const asController = (): WriteOptions => ({ fieldManager: 'kube-controller-manager' });

/** The hash of a pod template (normalised, so defaulted and round-tripped templates hash alike). */
export const hashTemplate = (template: unknown) => templateHash(template);

export const sameTemplate = (a: unknown, b: unknown) => isDeepStrictEqual(normalise(a), normalise(b));

// ---- ControllerRevisions (StatefulSet and DaemonSet history) -------------------------------------------

export const REVISION_HASH_LABEL = 'controller.kubernetes.io/hash';

export interface Revisions {
  /** The revision of the current template (created or renumbered as needed). */
  update: KubeObject;
  /** All revisions the owner controls, including `update`. */
  all: KubeObject[];
}

/**
 * Finds or creates the ControllerRevision for the owner's current template, as the StatefulSet and
 * DaemonSet controllers do: data is `{spec: {template: {..., $patch: replace}}}`; going back to an older
 * template renumbers that revision to max+1 instead of creating a duplicate.
 */
export function syncRevisions(api: KubeApi, owner: KubeObject, kind: string): Revisions {
  const type = api.mustType('apps', 'controllerrevisions');
  const ns = owner.metadata.namespace;
  const hash = hashTemplate(owner.spec.template);
  const name = `${owner.metadata.name}-${hash}`;
  let all = claim(api, type, owner, 'apps/v1', kind);
  const max = all.reduce((m, r) => Math.max(m, Number(r.revision) || 0), 0);
  let update = all.find((r) => r.metadata.name === name);
  if (!update) {
    update = api.create(type, ns, {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name,
        namespace: ns,
        labels: { ...(owner.spec.template?.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash },
        ownerReferences: [newControllerRef(owner, 'apps/v1', kind)],
      },
      data: { spec: { template: { ...structuredClone(owner.spec.template), $patch: 'replace' } } },
      revision: max + 1,
    }, asController());
    all = [...all, update];
  } else if (Number(update.revision) < max) {
    const next = structuredClone(update);
    next.revision = max + 1;
    update = api.update(type, ns, name, next, undefined, asController());
    all = all.map((r) => (r.metadata.name === name ? update! : r));
  }
  return { update, all };
}

export function revisionTemplate(revision: KubeObject | undefined): KubeObject | undefined {
  const template = revision?.data?.spec?.template;
  if (!template) return undefined;
  const { $patch: _patch, ...rest } = template;
  return rest;
}

/** Deletes the oldest revisions beyond `limit` that no pod or status still refers to. */
export function truncateHistory(api: KubeApi, all: KubeObject[], live: Set<string>, limit: number): void {
  const type = api.mustType('apps', 'controllerrevisions');
  const history = all.filter((r) => !live.has(r.metadata.name)).sort((a, b) => Number(a.revision) - Number(b.revision));
  for (const r of history.slice(0, Math.max(0, history.length - limit))) {
    api.delete(type, r.metadata.namespace, r.metadata.name, {});
  }
}
