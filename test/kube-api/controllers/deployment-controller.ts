/**
 * The Deployment controller: one ReplicaSet per pod template (`<name>-<pod-template-hash>`), rolled out with
 * the RollingUpdate (maxSurge/maxUnavailable) or Recreate strategy, with the revision annotations
 * `kubectl rollout history|undo` read and the status and conditions `kubectl rollout status` checks.
 * It follows the real controller's sync (pkg/controller/deployment): paused and scaling events scale
 * proportionally, a rollout scales the new ReplicaSet up and old ones down, and progress is estimated
 * against progressDeadlineSeconds.
 */
import type { KubeApi } from '../api.ts';
import type { EmulatorOptions } from '../emulator.ts';
import type { ResourceType } from '../resource-types.ts';
import type { KubeObject, StoreEvent } from '../store.ts';
import { StoreController } from './store-controller.ts';
import {
  asController,
  byCreation,
  claim,
  controllerRefOf,
  hashTemplate,
  isPodTerminal,
  keyOf,
  newControllerRef,
  omitZero,
  ownerKeys,
  resolveIntOrPercent,
  sameJson,
  sameTemplate,
  selectorOf,
  splitKey,
  timestamp,
} from './workload-util.ts';

export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
export const POD_TEMPLATE_HASH = 'pod-template-hash';

/** Annotations a Deployment does not pass on to its ReplicaSets. */
const NOT_COPIED = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  'deprecated.deployment.rollback.to',
]);
/** Longest revision-history annotation kept (the controller's default --max-rev-history-length-in-chars). */
const MAX_REVISION_HISTORY_CHARS = 2000;
const MAX_INT32 = 2147483647;

// Progressing reasons (deployment util).
const NEW_RS_CREATED = 'NewReplicaSetCreated';
const FOUND_NEW_RS = 'FoundNewReplicaSet';
const RS_UPDATED = 'ReplicaSetUpdated';
const NEW_RS_AVAILABLE = 'NewReplicaSetAvailable';
const TIMED_OUT = 'ProgressDeadlineExceeded';
const PAUSED = 'DeploymentPaused';
const RESUMED = 'DeploymentResumed';

const STATUS_COUNTERS = ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas'];

type Status = KubeObject;

export function startDeploymentController(api: KubeApi, _options: EmulatorOptions = {}): () => void {
  const controller = new DeploymentController(api);
  return () => controller.stop();
}

const replicasOf = (o: KubeObject): number => o.spec?.replicas ?? 1;
const revisionOf = (rs: KubeObject): number => Number.parseInt(rs.metadata.annotations?.[REVISION] ?? '0', 10) || 0;
const active = (list: KubeObject[]) => list.filter((rs) => replicasOf(rs) > 0);
const sum = (list: KubeObject[], f: (rs: KubeObject) => number) => list.reduce((n, rs) => n + f(rs), 0);

function isRollingUpdate(d: KubeObject): boolean {
  return (d.spec.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
}

/** ResolveFenceposts: maxSurge rounds up, maxUnavailable down; both 0 means maxUnavailable 1. */
function fenceposts(d: KubeObject): { surge: number; unavailable: number } {
  const desired = replicasOf(d);
  const ru = d.spec.strategy?.rollingUpdate ?? {};
  const surge = resolveIntOrPercent(ru.maxSurge ?? '25%', desired, true, 0);
  let unavailable = resolveIntOrPercent(ru.maxUnavailable ?? '25%', desired, false, 0);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

function maxSurge(d: KubeObject): number {
  return isRollingUpdate(d) ? fenceposts(d).surge : 0;
}

function maxUnavailable(d: KubeObject): number {
  if (!isRollingUpdate(d) || replicasOf(d) === 0) return 0;
  return Math.min(fenceposts(d).unavailable, replicasOf(d));
}

function hasProgressDeadline(d: KubeObject): boolean {
  const s = d.spec.progressDeadlineSeconds;
  return typeof s === 'number' && s !== MAX_INT32;
}

function condition(status: Status, type: string): KubeObject | undefined {
  return ((status?.conditions ?? []) as KubeObject[]).find((c) => c.type === type);
}

function removeCondition(status: Status, type: string): void {
  status.conditions = ((status.conditions ?? []) as KubeObject[]).filter((c) => c.type !== type);
}

/** SetDeploymentCondition: same status and reason is no change; same status keeps lastTransitionTime; the new one goes last. */
function setCondition(status: Status, cond: KubeObject): void {
  const current = condition(status, cond.type);
  if (current && current.status === cond.status && current.reason === cond.reason) return;
  if (current && current.status === cond.status) cond.lastTransitionTime = current.lastTransitionTime;
  status.conditions = [...((status.conditions ?? []) as KubeObject[]).filter((c) => c.type !== cond.type), cond];
}

function deploymentComplete(d: KubeObject, status: Status): boolean {
  const want = replicasOf(d);
  return (status.updatedReplicas ?? 0) === want && (status.replicas ?? 0) === want && (status.availableReplicas ?? 0) === want && (status.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
}

function deploymentProgressing(d: KubeObject, status: Status): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (status.replicas ?? 0) - (status.updatedReplicas ?? 0);
  return (
    (status.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (status.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (status.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

/** EqualIgnoreHash: templates equal apart from the pod-template-hash label. */
function equalIgnoringHash(a: KubeObject | undefined, b: KubeObject | undefined): boolean {
  const strip = (t: KubeObject | undefined) => {
    const copy = structuredClone(t ?? {});
    if (copy.metadata?.labels) delete copy.metadata.labels[POD_TEMPLATE_HASH];
    return copy;
  };
  return sameTemplate(strip(a), strip(b));
}

interface ReplicaSets {
  d: KubeObject;
  newRS: KubeObject | undefined;
  oldRSs: KubeObject[];
}

class DeploymentController extends StoreController {
  private readonly replicaSets: ResourceType;

  constructor(api: KubeApi) {
    super(api, 'deployment-controller', api.mustType('apps', 'deployments'));
    this.replicaSets = api.mustType('apps', 'replicasets');
  }

  protected onEvent(event: StoreEvent): void {
    if (event.resource === 'apps/deployments') {
      this.queue.add(keyOf(event.object));
    } else if (event.resource === 'apps/replicasets') {
      const keys = ownerKeys(event, 'Deployment');
      for (const key of keys) this.queue.add(key);
      if (keys.length === 0 && event.type !== 'DELETED') {
        // An orphan ReplicaSet: a Deployment whose selector matches may adopt it.
        for (const d of this.api.list(this.primary, event.object.metadata.namespace)) {
          if (selectorOf(d)(event.object.metadata.labels ?? {})) this.queue.add(keyOf(d));
        }
      }
    } else if (event.resource === '/pods' && (event.type === 'DELETED' || isPodTerminal(event.object))) {
      // Recreate waits for the old pods to be gone.
      const rsRef = controllerRefOf(event.object);
      if (rsRef?.kind !== 'ReplicaSet') return;
      const rs = this.api.store.get('apps/replicasets', event.object.metadata.namespace, rsRef.name);
      const dRef = controllerRefOf(rs);
      if (dRef?.kind === 'Deployment') this.queue.add(`${event.object.metadata.namespace}/${dRef.name}`);
    }
  }

  // ---- sync ---------------------------------------------------------------------------------------

  protected sync(key: string): void {
    const [namespace, name] = splitKey(key);
    const state = this.load(namespace, name, false);
    if (!state) return;
    if (state.d.metadata.deletionTimestamp) {
      this.syncDeploymentStatus(state);
      return;
    }
    this.checkPausedConditions(state);
    if (state.d.spec.paused || this.isScalingEvent(state)) {
      // Scaling events and paused deployments: proportional scaling, no rollout.
      this.scale(state);
      if (state.d.spec.paused) this.cleanupDeployment(state.oldRSs, state.d);
      this.syncDeploymentStatus(state);
      return;
    }
    if (state.d.spec.strategy?.type === 'Recreate') this.rolloutRecreate(state);
    else this.rolloutRolling(state);
  }

  /** The Deployment as stored now, its ReplicaSets (adopting orphans) and the new one (created if asked). */
  private load(namespace: string, name: string, create: boolean): ReplicaSets | undefined {
    const stored = this.api.store.get('apps/deployments', namespace, name);
    if (!stored) return undefined;
    const d = structuredClone(stored);
    const rsList = claim(this.api, this.replicaSets, d, 'apps/v1', 'Deployment');
    return this.getAllReplicaSetsAndSyncRevision(d, rsList, create);
  }

  private checkPausedConditions(state: ReplicaSets): void {
    const d = state.d;
    if (!hasProgressDeadline(d)) return;
    const cond = condition(d.status, 'Progressing');
    if (cond?.reason === TIMED_OUT) return;
    const pausedExists = cond?.reason === PAUSED;
    const status = structuredClone(d.status ?? {});
    if (d.spec.paused && !pausedExists) this.setNew(status, 'Progressing', 'Unknown', PAUSED, 'Deployment is paused');
    else if (!d.spec.paused && pausedExists) this.setNew(status, 'Progressing', 'Unknown', RESUMED, 'Deployment is resumed');
    else return;
    state.d = this.writeStatus(d, status);
  }

  private isScalingEvent(state: ReplicaSets): boolean {
    for (const rs of active([...state.oldRSs, ...(state.newRS ? [state.newRS] : [])])) {
      const desired = rs.metadata.annotations?.[DESIRED_REPLICAS];
      if (desired !== undefined && Number(desired) !== replicasOf(state.d)) return true;
    }
    return false;
  }

  private rolloutRolling(initial: ReplicaSets): void {
    const state = initial.newRS ? initial : this.load(initial.d.metadata.namespace, initial.d.metadata.name, true)!;
    if (this.reconcileNewReplicaSet(state)) {
      this.syncRolloutStatus(state);
      return;
    }
    if (this.reconcileOldReplicaSets(state)) {
      this.syncRolloutStatus(state);
      return;
    }
    if (deploymentComplete(state.d, state.d.status ?? {})) this.cleanupDeployment(state.oldRSs, state.d);
    this.syncRolloutStatus(state);
  }

  private rolloutRecreate(initial: ReplicaSets): void {
    let state = initial;
    let scaledDown = false;
    for (const rs of active(state.oldRSs)) {
      const result = this.scaleReplicaSet(rs, 0, state.d);
      this.replace(state, result.rs);
      scaledDown ||= result.scaled;
    }
    if (scaledDown || this.oldPodsRunning(state)) {
      this.syncRolloutStatus(state);
      return;
    }
    if (!state.newRS) state = this.load(state.d.metadata.namespace, state.d.metadata.name, true)!;
    this.replace(state, this.scaleReplicaSet(state.newRS!, replicasOf(state.d), state.d).rs);
    if (deploymentComplete(state.d, state.d.status ?? {})) this.cleanupDeployment(state.oldRSs, state.d);
    this.syncRolloutStatus(state);
  }

  private oldPodsRunning(state: ReplicaSets): boolean {
    if (sum(state.oldRSs, (rs) => rs.status?.replicas ?? 0) > 0) return true;
    const oldUids = new Set(state.oldRSs.map((rs) => rs.metadata.uid as string));
    return this.api
      .list(this.api.mustType('', 'pods'), state.d.metadata.namespace)
      .some((p) => oldUids.has(controllerRefOf(p)?.uid) && !isPodTerminal(p));
  }

  // ---- replica sets -------------------------------------------------------------------------------

  /**
   * The new ReplicaSet (the oldest whose template equals the Deployment's) with its revision raised to
   * max(old)+1, and the Deployment's revision annotation and Progressing condition to match; creates it
   * when `create` is set.
   */
  private getAllReplicaSetsAndSyncRevision(d: KubeObject, rsList: KubeObject[], create: boolean): ReplicaSets {
    const sorted = [...rsList].sort(byCreation);
    const existing = sorted.find((rs) => equalIgnoringHash(rs.spec?.template, d.spec.template));
    const oldRSs = sorted.filter((rs) => rs !== existing);
    const newRevision = String(oldRSs.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0) + 1);
    if (existing) {
      let rs = existing;
      const copy = structuredClone(existing);
      const annotationsChanged = this.setNewReplicaSetAnnotations(d, copy, newRevision, true);
      const minReadyChanged = (copy.spec.minReadySeconds ?? 0) !== (d.spec.minReadySeconds ?? 0);
      if (annotationsChanged || minReadyChanged) {
        if (d.spec.minReadySeconds) copy.spec.minReadySeconds = d.spec.minReadySeconds;
        else delete copy.spec.minReadySeconds;
        rs = this.api.update(this.replicaSets, copy.metadata.namespace, copy.metadata.name, copy, undefined, asController());
      }
      d = this.setDeploymentRevision(d, rs.metadata.annotations?.[REVISION] ?? newRevision);
      if (hasProgressDeadline(d) && !condition(d.status, 'Progressing')) {
        const status = structuredClone(d.status ?? {});
        this.setNew(status, 'Progressing', 'True', FOUND_NEW_RS, `Found new replica set "${rs.metadata.name}"`);
        d = this.writeStatus(d, status);
      }
      return { d, newRS: rs, oldRSs };
    }
    if (!create) return { d, newRS: undefined, oldRSs };

    const hash = hashTemplate(d.spec.template);
    const template = structuredClone(d.spec.template);
    template.metadata ??= {};
    template.metadata.labels = { ...(template.metadata.labels ?? {}), [POD_TEMPLATE_HASH]: hash };
    const selector = structuredClone(d.spec.selector);
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash };
    const rs: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        labels: { ...template.metadata.labels },
        ownerReferences: [newControllerRef(d, 'apps/v1', 'Deployment')],
      },
      spec: {
        replicas: 0,
        ...(d.spec.minReadySeconds ? { minReadySeconds: d.spec.minReadySeconds } : {}),
        selector,
        template,
      },
    };
    rs.spec.replicas = this.newRSNewReplicas(d, [...oldRSs, rs], rs);
    this.setNewReplicaSetAnnotations(d, rs, newRevision, false);
    const created = this.api.create(this.replicaSets, d.metadata.namespace, rs, asController());
    d = this.setDeploymentRevision(d, newRevision);
    if (hasProgressDeadline(d)) {
      const status = structuredClone(d.status ?? {});
      this.setNew(status, 'Progressing', 'True', NEW_RS_CREATED, `Created new replica set "${created.metadata.name}"`);
      d = this.writeStatus(d, status);
    }
    return { d, newRS: created, oldRSs };
  }

  /** SetNewReplicaSetAnnotations: copied Deployment annotations, revision (+history when raised), replicas annotations on create. */
  private setNewReplicaSetAnnotations(d: KubeObject, rs: KubeObject, newRevision: string, exists: boolean): boolean {
    let changed = false;
    rs.metadata.annotations ??= {};
    const annotations = rs.metadata.annotations as Record<string, string>;
    for (const [k, v] of Object.entries((d.metadata.annotations ?? {}) as Record<string, string>)) {
      if (NOT_COPIED.has(k) || annotations[k] === v) continue;
      annotations[k] = v;
      changed = true;
    }
    const oldRevision = annotations[REVISION];
    const oldInt = oldRevision === undefined ? 0 : Number.parseInt(oldRevision, 10);
    if (Number.isNaN(oldInt)) return changed;
    const newInt = Number.parseInt(newRevision, 10);
    if (oldInt < newInt) {
      annotations[REVISION] = newRevision;
      changed = true;
      if (oldRevision !== undefined) {
        // Rolling back to this ReplicaSet: remember the revisions it served before.
        const history = annotations[REVISION_HISTORY] ? annotations[REVISION_HISTORY].split(',') : [];
        history.push(oldRevision);
        while (history.join(',').length > MAX_REVISION_HISTORY_CHARS && history.length > 1) history.shift();
        annotations[REVISION_HISTORY] = history.join(',');
      }
    }
    if (!exists && this.setReplicasAnnotations(rs, replicasOf(d), replicasOf(d) + maxSurge(d))) changed = true;
    if (Object.keys(annotations).length === 0) delete rs.metadata.annotations;
    return changed;
  }

  private setReplicasAnnotations(rs: KubeObject, desired: number, max: number): boolean {
    rs.metadata.annotations ??= {};
    const a = rs.metadata.annotations as Record<string, string>;
    let changed = false;
    if (a[DESIRED_REPLICAS] !== String(desired)) {
      a[DESIRED_REPLICAS] = String(desired);
      changed = true;
    }
    if (a[MAX_REPLICAS] !== String(max)) {
      a[MAX_REPLICAS] = String(max);
      changed = true;
    }
    return changed;
  }

  /** NewRSNewReplicas: how far the new ReplicaSet may grow now. */
  private newRSNewReplicas(d: KubeObject, allRSs: KubeObject[], newRS: KubeObject): number {
    if (!isRollingUpdate(d)) return replicasOf(d);
    const current = sum(allRSs, replicasOf);
    const maxTotal = replicasOf(d) + maxSurge(d);
    if (current >= maxTotal) return replicasOf(newRS);
    return replicasOf(newRS) + Math.min(maxTotal - current, replicasOf(d) - replicasOf(newRS));
  }

  private scaleReplicaSet(rs: KubeObject, replicas: number, d: KubeObject): { scaled: boolean; rs: KubeObject } {
    const sizeChanged = replicasOf(rs) !== replicas;
    const next = structuredClone(rs);
    const annotationsChanged = this.setReplicasAnnotations(next, replicasOf(d), replicasOf(d) + maxSurge(d));
    if (!sizeChanged && !annotationsChanged) return { scaled: false, rs };
    next.spec.replicas = replicas;
    return { scaled: sizeChanged, rs: this.api.update(this.replicaSets, rs.metadata.namespace, rs.metadata.name, next, undefined, asController()) };
  }

  private replace(state: ReplicaSets, rs: KubeObject): void {
    if (state.newRS?.metadata.uid === rs.metadata.uid) state.newRS = rs;
    state.oldRSs = state.oldRSs.map((o) => (o.metadata.uid === rs.metadata.uid ? rs : o));
  }

  private reconcileNewReplicaSet(state: ReplicaSets): boolean {
    const { d, newRS } = state;
    if (!newRS) return false;
    const want = replicasOf(d);
    if (replicasOf(newRS) === want) return false;
    const target = replicasOf(newRS) > want ? want : this.newRSNewReplicas(d, [...state.oldRSs, newRS], newRS);
    const result = this.scaleReplicaSet(newRS, target, d);
    this.replace(state, result.rs);
    return result.scaled;
  }

  private reconcileOldReplicaSets(state: ReplicaSets): boolean {
    const { d, newRS } = state;
    if (!newRS) return false;
    const oldActive = active(state.oldRSs);
    if (sum(oldActive, replicasOf) === 0) return false;
    const allPods = sum([...oldActive, newRS], replicasOf);
    const minAvailable = replicasOf(d) - maxUnavailable(d);
    const newUnavailable = replicasOf(newRS) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = allPods - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;

    // Unhealthy old replicas go first: removing them does not lower availability.
    let total = 0;
    for (const rs of [...oldActive].sort(byCreation)) {
      if (total >= maxScaledDown) break;
      const current = state.oldRSs.find((o) => o.metadata.uid === rs.metadata.uid)!;
      const unhealthy = replicasOf(current) - (current.status?.availableReplicas ?? 0);
      if (replicasOf(current) === 0 || unhealthy <= 0) continue;
      const down = Math.min(maxScaledDown - total, unhealthy);
      this.replace(state, this.scaleReplicaSet(current, replicasOf(current) - down, d).rs);
      total += down;
    }

    // Then healthy ones, as far as maxUnavailable allows.
    const all = [...state.oldRSs, state.newRS!];
    const available = sum(all, (rs) => rs.status?.availableReplicas ?? 0);
    if (available > minAvailable) {
      const budget = available - minAvailable;
      let done = 0;
      for (const rs of [...state.oldRSs].sort(byCreation)) {
        if (done >= budget) break;
        if (replicasOf(rs) === 0) continue;
        const down = Math.min(replicasOf(rs), budget - done);
        this.replace(state, this.scaleReplicaSet(rs, replicasOf(rs) - down, d).rs);
        done += down;
      }
      total += done;
    }
    return total > 0;
  }

  /** Proportional scaling of the active ReplicaSets (sync.go `scale`). */
  private scale(state: ReplicaSets): void {
    const { d, newRS } = state;
    const want = replicasOf(d);
    const all = [...state.oldRSs, ...(newRS ? [newRS] : [])];
    const activeRSs = active(all);
    const only = activeRSs.length === 1 ? activeRSs[0] : activeRSs.length === 0 ? (newRS ?? [...state.oldRSs].sort(byCreation).at(-1)) : undefined;
    if (only) {
      if (replicasOf(only) !== want) this.replace(state, this.scaleReplicaSet(only, want, d).rs);
      return;
    }
    if (newRS && this.isSaturated(d, newRS)) {
      for (const rs of active(state.oldRSs)) this.replace(state, this.scaleReplicaSet(rs, 0, d).rs);
      return;
    }
    if (!isRollingUpdate(d)) return;
    const allowed = want > 0 ? want + maxSurge(d) : 0;
    const toAdd = allowed - sum(activeRSs, replicasOf);
    // Scaling up favours the largest and newest ReplicaSets, scaling down the largest and oldest.
    const ordered = [...activeRSs].sort((a, b) => replicasOf(b) - replicasOf(a) || (toAdd > 0 ? byCreation(b, a) : byCreation(a, b)));
    const sizes = new Map<string, number>();
    let added = 0;
    for (const rs of ordered) {
      const proportion = toAdd === 0 ? 0 : this.proportion(rs, d, toAdd, added);
      sizes.set(rs.metadata.uid, replicasOf(rs) + proportion);
      added += proportion;
    }
    ordered.forEach((rs, i) => {
      let size = sizes.get(rs.metadata.uid)!;
      if (i === 0 && toAdd !== 0) size = Math.max(0, size + toAdd - added);
      this.replace(state, this.scaleReplicaSet(rs, size, d).rs);
    });
  }

  private proportion(rs: KubeObject, d: KubeObject, toAdd: number, added: number): number {
    if (replicasOf(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
    let fraction: number;
    if (replicasOf(d) === 0) fraction = -replicasOf(rs);
    else {
      const deploymentReplicas = replicasOf(d) + maxSurge(d);
      const annotated = Number.parseInt(rs.metadata.annotations?.[MAX_REPLICAS] ?? '', 10);
      const base = Number.isNaN(annotated) ? (d.status?.replicas ?? 0) : annotated;
      fraction = base === 0 ? 0 : Math.round((replicasOf(rs) * deploymentReplicas) / base) - replicasOf(rs);
    }
    const allowed = toAdd - added;
    return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
  }

  private isSaturated(d: KubeObject, rs: KubeObject): boolean {
    const desired = Number.parseInt(rs.metadata.annotations?.[DESIRED_REPLICAS] ?? '', 10);
    return replicasOf(rs) === replicasOf(d) && desired === replicasOf(d) && (rs.status?.availableReplicas ?? 0) === replicasOf(d);
  }

  /** Deletes the oldest scaled-down ReplicaSets beyond revisionHistoryLimit. */
  private cleanupDeployment(oldRSs: KubeObject[], d: KubeObject): void {
    const limit = d.spec.revisionHistoryLimit;
    if (typeof limit !== 'number' || limit === MAX_INT32) return;
    const cleanable = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp);
    const diff = cleanable.length - limit;
    if (diff <= 0) return;
    cleanable.sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
    for (const rs of cleanable.slice(0, diff)) {
      if ((rs.status?.replicas ?? 0) !== 0 || replicasOf(rs) !== 0 || (rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
      this.api.delete(this.replicaSets, rs.metadata.namespace, rs.metadata.name, {});
    }
  }

  // ---- status -------------------------------------------------------------------------------------

  private calculateStatus(state: ReplicaSets): Status {
    const { d, newRS } = state;
    const all = [...state.oldRSs, ...(newRS ? [newRS] : [])];
    const available = sum(all, (rs) => rs.status?.availableReplicas ?? 0);
    const status: Status = {
      observedGeneration: d.metadata.generation,
      replicas: sum(all, (rs) => rs.status?.replicas ?? 0),
      updatedReplicas: newRS?.status?.replicas ?? 0,
      readyReplicas: sum(all, (rs) => rs.status?.readyReplicas ?? 0),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, sum(all, replicasOf) - available),
      conditions: structuredClone(d.status?.conditions ?? []),
      ...(d.status?.collisionCount !== undefined ? { collisionCount: d.status.collisionCount } : {}),
    };
    if (available >= replicasOf(d) - maxUnavailable(d)) this.setNew(status, 'Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.');
    else this.setNew(status, 'Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.');
    return status;
  }

  private syncDeploymentStatus(state: ReplicaSets): void {
    const status = omitZero(this.calculateStatus(state), STATUS_COUNTERS);
    if (!sameJson(state.d.status ?? {}, status)) state.d = this.writeStatus(state.d, status);
  }

  /** progress.go syncRolloutStatus: status plus the Progressing condition (progress or deadline). */
  private syncRolloutStatus(state: ReplicaSets): void {
    const { d, newRS } = state;
    const status = omitZero(this.calculateStatus(state), STATUS_COUNTERS);
    if (!hasProgressDeadline(d)) removeCondition(status, 'Progressing');
    const current = condition(d.status, 'Progressing');
    const complete = (status.replicas ?? 0) === (status.updatedReplicas ?? 0) && current?.reason === NEW_RS_AVAILABLE;
    if (hasProgressDeadline(d) && !complete) {
      const subject = newRS ? `ReplicaSet "${newRS.metadata.name}"` : `Deployment "${d.metadata.name}"`;
      if (deploymentComplete(d, status)) {
        this.setNew(status, 'Progressing', 'True', NEW_RS_AVAILABLE, `${subject} has successfully progressed.`);
      } else if (deploymentProgressing(d, status)) {
        const cond = this.newCondition('Progressing', 'True', RS_UPDATED, `${subject} is progressing.`);
        if (current) {
          if (current.status === 'True') cond.lastTransitionTime = current.lastTransitionTime;
          removeCondition(status, 'Progressing');
        }
        setCondition(status, cond);
      } else if (this.timedOut(d, status)) {
        this.setNew(status, 'Progressing', 'False', TIMED_OUT, `${subject} has timed out progressing.`);
      }
    }
    omitZero(status, []);
    if (sameJson(d.status ?? {}, status)) {
      this.requeueStuckDeployment(d, status);
      return;
    }
    state.d = this.writeStatus(d, status);
  }

  private timedOut(d: KubeObject, status: Status): boolean {
    const cond = condition(status, 'Progressing');
    if (!cond || cond.reason === NEW_RS_AVAILABLE) return false;
    if (cond.reason === TIMED_OUT) return true;
    const from = Date.parse(cond.lastUpdateTime);
    return from + d.spec.progressDeadlineSeconds * 1000 < this.api.clock().getTime();
  }

  /** Checks again when the progress deadline of a stuck rollout passes. */
  private requeueStuckDeployment(d: KubeObject, status: Status): void {
    const cond = condition(d.status, 'Progressing');
    if (!hasProgressDeadline(d) || !cond) return;
    if (deploymentComplete(d, status) || cond.reason === TIMED_OUT) return;
    const after = Date.parse(cond.lastUpdateTime) + d.spec.progressDeadlineSeconds * 1000 - this.api.clock().getTime();
    // Timestamps have whole seconds: a little past the deadline the check above is true.
    this.queue.addAfter(keyOf(d), Math.max(0, after) + 20);
  }

  private newCondition(type: string, status: string, reason: string, message: string): KubeObject {
    const t = timestamp(this.api);
    return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
  }

  private setNew(status: Status, type: string, value: string, reason: string, message: string): void {
    setCondition(status, this.newCondition(type, value, reason, message));
  }

  private setDeploymentRevision(d: KubeObject, revision: string): KubeObject {
    if (d.metadata.annotations?.[REVISION] === revision) return d;
    const next = structuredClone(d);
    next.metadata.annotations = { ...(next.metadata.annotations ?? {}), [REVISION]: revision };
    return this.api.update(this.primary, d.metadata.namespace, d.metadata.name, next, undefined, asController());
  }

  private writeStatus(d: KubeObject, status: Status): KubeObject {
    return this.api.update(this.primary, d.metadata.namespace, d.metadata.name, { ...d, status }, 'status', asController());
  }
}
