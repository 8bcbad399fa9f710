/**
 * The Job controller (1.32 behaviour): pods `<job>-<5 chars>` (Indexed: `<job>-<index>-<5 chars>`) up to
 * `parallelism` until `completions` succeed, each with the `batch.kubernetes.io/job-tracking` finalizer that
 * is removed once the pod's outcome is counted; failure after more than `backoffLimit` failed pods or past
 * `activeDeadlineSeconds`; `suspend`; `ttlSecondsAfterFinished`. Status as a 1.32 server shows it: `ready`,
 * `terminating` and `uncountedTerminatedPods: {}` always, the interim SuccessCriteriaMet / FailureTarget
 * condition before Complete / Failed (reason CompletionsReached, BackoffLimitExceeded or DeadlineExceeded).
 * Failed pods are replaced at once (no exponential back-off delay).
 */
import type { KubeApi } from '../api.ts';
import type { EmulatorOptions } from '../emulator.ts';
import type { ResourceType } from '../resource-types.ts';
import type { KubeObject, StoreEvent } from '../store.ts';
import { StoreController } from './store-controller.ts';
import {
  asController,
  controllerRefOf,
  deletionOrder,
  isPodActive,
  isPodReady,
  isPodTerminal,
  keyOf,
  newControllerRef,
  omitZero,
  ownerKeys,
  podFromTemplate,
  sameJson,
  splitKey,
  timestamp,
} from './workload-util.ts';

export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
const COMPLETION_INDEX = 'batch.kubernetes.io/job-completion-index';
const ORPHAN_PREFIX = 'pod:';

export function startJobController(api: KubeApi, _options: EmulatorOptions = {}): () => void {
  const controller = new JobController(api);
  return () => controller.stop();
}

interface Finish {
  success: boolean;
  reason: string;
  message: string;
}

const tracked = (pod: KubeObject) => ((pod.metadata.finalizers ?? []) as string[]).includes(JOB_TRACKING_FINALIZER);
/** Failed, or deleted before it succeeded (an orphan never reaches Failed). */
const podFailed = (pod: KubeObject) => pod.status?.phase === 'Failed' || (Boolean(pod.metadata.deletionTimestamp) && pod.status?.phase !== 'Succeeded');
const indexOf = (pod: KubeObject): number => {
  const raw = pod.metadata.annotations?.[COMPLETION_INDEX] ?? pod.metadata.labels?.[COMPLETION_INDEX];
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : -1;
};

function jobCondition(job: KubeObject, type: string): KubeObject | undefined {
  return ((job.status?.conditions ?? []) as KubeObject[]).find((c) => c.type === type);
}

export function isJobFinished(job: KubeObject): boolean {
  return ((job.status?.conditions ?? []) as KubeObject[]).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

/** "0-2,4,6-7" ⇄ a set of indexes. */
export function parseIndexes(text: string | undefined): Set<number> {
  const out = new Set<number>();
  for (const part of (text ?? '').split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    for (let i = a!; i <= (b ?? a!); i++) out.add(i);
  }
  return out;
}

export function formatIndexes(indexes: Set<number>): string {
  const sorted = [...indexes].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

class JobController extends StoreController {
  private readonly pods: ResourceType;

  constructor(api: KubeApi) {
    super(api, 'job-controller', api.mustType('batch', 'jobs'));
    this.pods = api.mustType('', 'pods');
    for (const pod of api.list(this.pods, undefined)) if (tracked(pod)) this.queue.add(ORPHAN_PREFIX + keyOf(pod));
  }

  protected onEvent(event: StoreEvent): void {
    if (event.resource === 'batch/jobs') {
      this.queue.add(keyOf(event.object));
    } else if (event.resource === '/pods') {
      for (const key of ownerKeys(event, 'Job')) this.queue.add(key);
      if (event.type !== 'DELETED' && tracked(event.object)) this.queue.add(ORPHAN_PREFIX + keyOf(event.object));
    }
  }

  /** Removes the tracking finalizer from a pod whose Job is gone or finished. */
  private syncOrphanPod(key: string): void {
    const [namespace, name] = splitKey(key);
    const pod = this.api.store.get('/pods', namespace, name);
    if (!pod || !tracked(pod)) return;
    const ref = controllerRefOf(pod);
    if (ref && ref.kind === 'Job') {
      const job = this.api.store.get('batch/jobs', namespace, ref.name);
      if (job && job.metadata.uid === ref.uid && !isJobFinished(job)) return;
    }
    this.api.removeFinalizer(this.pods, pod, JOB_TRACKING_FINALIZER);
  }

  private ownedPods(job: KubeObject): KubeObject[] {
    return this.api.list(this.pods, job.metadata.namespace).filter((p) => controllerRefOf(p)?.uid === job.metadata.uid);
  }

  protected sync(key: string): void {
    if (key.startsWith(ORPHAN_PREFIX)) this.syncOrphanPod(key.slice(ORPHAN_PREFIX.length));
    else this.syncJob(key);
  }

  private syncJob(key: string): void {
    const [namespace, name] = splitKey(key);
    const stored = this.api.store.get('batch/jobs', namespace, name);
    if (!stored) return;
    const job = structuredClone(stored);
    if (isJobFinished(job)) {
      for (const pod of this.ownedPods(job)) if (tracked(pod)) this.api.removeFinalizer(this.pods, pod, JOB_TRACKING_FINALIZER);
      this.expireAfterFinished(job);
      return;
    }
    const spec = job.spec ?? {};
    const indexed = spec.completionMode === 'Indexed';
    const completions: number | undefined = typeof spec.completions === 'number' ? spec.completions : undefined;
    const parallelism: number = spec.parallelism ?? 1;
    const suspended = spec.suspend === true;
    const nowMs = this.api.clock().getTime();
    const t = timestamp(this.api);
    const status: KubeObject = structuredClone(job.status ?? {});
    status.uncountedTerminatedPods ??= {};

    // Counts as they stand, to decide.
    let pods = this.ownedPods(job);
    const succeededIndexes = indexed ? parseIndexes(status.completedIndexes) : new Set<number>();
    const countSucceeded = (list: KubeObject[]) => {
      for (const p of list) if (tracked(p) && p.status?.phase === 'Succeeded' && indexOf(p) >= 0 && indexOf(p) < (completions ?? 0)) succeededIndexes.add(indexOf(p));
    };
    if (indexed) countSucceeded(pods);
    const succeededNow = indexed ? succeededIndexes.size : (status.succeeded ?? 0) + pods.filter((p) => tracked(p) && p.status?.phase === 'Succeeded').length;
    const failedNow = (status.failed ?? 0) + pods.filter((p) => tracked(p) && podFailed(p)).length;

    if (!status.startTime && !suspended) status.startTime = t;
    let finish = this.interimFinish(job);
    if (!finish && failedNow > (spec.backoffLimit ?? 6)) {
      finish = { success: false, reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
    }
    if (!finish && typeof spec.activeDeadlineSeconds === 'number' && status.startTime && !suspended) {
      const left = Date.parse(status.startTime) + spec.activeDeadlineSeconds * 1000 - nowMs;
      if (left <= 0) finish = { success: false, reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
      else this.queue.addAfter(key, left + 10);
    }

    // Act.
    const activePods = pods.filter(isPodActive);
    if (finish) {
      // Deleted with their finalizers on: they count as failed below.
      for (const p of activePods) this.api.delete(this.pods, p.metadata.namespace, p.metadata.name, {});
    } else if (!job.metadata.deletionTimestamp) {
      if (suspended) for (const p of activePods) this.deleteUntracked(p);
      else this.manage(job, activePods, succeededNow, succeededIndexes, completions, parallelism);
    }
    this.suspendCondition(status, suspended, t);

    // Count finished pods and let them go.
    pods = this.ownedPods(job);
    let newSucceeded = 0;
    let newFailed = 0;
    if (indexed) countSucceeded(pods);
    for (const p of pods) {
      if (!tracked(p)) continue;
      if (!job.metadata.deletionTimestamp && !finish && p.status?.phase !== 'Succeeded' && !podFailed(p)) continue;
      if (p.status?.phase === 'Succeeded') newSucceeded++;
      else if (podFailed(p) || (finish && !finish.success)) newFailed++;
      this.api.removeFinalizer(this.pods, p, JOB_TRACKING_FINALIZER);
    }
    status.succeeded = indexed ? succeededIndexes.size : (status.succeeded ?? 0) + newSucceeded;
    status.failed = (status.failed ?? 0) + newFailed;
    if (indexed) status.completedIndexes = formatIndexes(succeededIndexes);

    pods = this.ownedPods(job);
    const active = pods.filter(isPodActive);
    const terminating = pods.filter((p) => p.metadata.deletionTimestamp && !isPodTerminal(p)).length;
    status.active = active.length;
    status.ready = active.filter(isPodReady).length;
    status.terminating = terminating;

    if (!finish && !suspended && !job.metadata.deletionTimestamp) {
      const done = completions === undefined ? status.succeeded > 0 && active.length === 0 : status.succeeded >= completions && active.length === 0;
      if (done) finish = { success: true, reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' };
    }
    if (finish) {
      const interim = finish.success ? 'SuccessCriteriaMet' : 'FailureTarget';
      if (!jobCondition({ status }, interim)) status.conditions = [...(status.conditions ?? []), this.condition(interim, finish, t)];
      if (active.length === 0 && terminating === 0) {
        status.conditions = [...status.conditions, this.condition(finish.success ? 'Complete' : 'Failed', finish, t)];
        if (finish.success) status.completionTime = t;
      }
    }
    omitZero(status, ['active', 'succeeded', 'failed']);
    if (status.completedIndexes === '') delete status.completedIndexes;
    if (!sameJson(job.status ?? {}, status)) {
      const written = this.api.update(this.primary, namespace, name, { ...stored, status }, 'status', asController());
      if (isJobFinished(written)) this.expireAfterFinished(written);
    }
  }

  /** The interim condition of an earlier pass whose terminal condition waited for pods to go. */
  private interimFinish(job: KubeObject): Finish | undefined {
    const success = jobCondition(job, 'SuccessCriteriaMet');
    if (success?.status === 'True') return { success: true, reason: success.reason, message: success.message };
    const failure = jobCondition(job, 'FailureTarget');
    if (failure?.status === 'True') return { success: false, reason: failure.reason, message: failure.message };
    return undefined;
  }

  private condition(type: string, finish: Finish, t: string): KubeObject {
    return { type, status: 'True', lastProbeTime: t, lastTransitionTime: t, reason: finish.reason, message: finish.message };
  }

  /** ensureJobConditionStatus for Suspended; resuming restarts the clock (startTime). */
  private suspendCondition(status: KubeObject, suspended: boolean, t: string): void {
    const conditions = (status.conditions ?? []) as KubeObject[];
    const current = conditions.find((c) => c.type === 'Suspended');
    const want = suspended ? 'True' : 'False';
    if (current?.status === want || (!current && !suspended)) return;
    const cond = { type: 'Suspended', status: want, lastProbeTime: t, lastTransitionTime: t, reason: suspended ? 'JobSuspended' : 'JobResumed', message: suspended ? 'Job suspended' : 'Job resumed' };
    status.conditions = current ? conditions.map((c) => (c === current ? cond : c)) : [...conditions, cond];
    if (!suspended) status.startTime = t;
  }

  /** Pods the controller removes on purpose (excess, suspension) are not failures: finalizer off first. */
  private deleteUntracked(pod: KubeObject): void {
    this.api.removeFinalizer(this.pods, pod, JOB_TRACKING_FINALIZER);
    if (this.api.store.get('/pods', pod.metadata.namespace, pod.metadata.name)) this.api.delete(this.pods, pod.metadata.namespace, pod.metadata.name, {});
  }

  private manage(job: KubeObject, active: KubeObject[], succeeded: number, succeededIndexes: Set<number>, completions: number | undefined, parallelism: number): void {
    let want: number;
    if (completions === undefined) want = succeeded > 0 ? active.length : parallelism;
    else want = Math.max(0, Math.min(completions - succeeded, parallelism));
    const indexed = job.spec.completionMode === 'Indexed';
    let keep = active;
    if (indexed) {
      // One pod per index, only for indexes still to complete.
      const seen = new Set<number>();
      keep = [];
      for (const p of [...active].sort((a, b) => deletionOrder(b, a))) {
        const i = indexOf(p);
        if (i < 0 || i >= (completions ?? 0) || seen.has(i) || succeededIndexes.has(i)) this.deleteUntracked(p);
        else {
          seen.add(i);
          keep.push(p);
        }
      }
    }
    if (keep.length > want) {
      for (const p of [...keep].sort(deletionOrder).slice(0, keep.length - want)) this.deleteUntracked(p);
      return;
    }
    let toCreate = want - keep.length;
    if (!indexed) {
      for (; toCreate > 0; toCreate--) this.createPod(job, undefined);
      return;
    }
    const busy = new Set(keep.map(indexOf));
    for (let i = 0; i < (completions ?? 0) && toCreate > 0; i++) {
      if (succeededIndexes.has(i) || busy.has(i)) continue;
      this.createPod(job, i);
      toCreate--;
    }
  }

  private createPod(job: KubeObject, index: number | undefined): void {
    const prefix = index === undefined ? `${job.metadata.name}-` : `${job.metadata.name}-${index}-`;
    const pod = podFromTemplate(job.spec.template, job.metadata.namespace, newControllerRef(job, 'batch/v1', 'Job'), { generateName: prefix });
    pod.metadata.finalizers = [...(pod.metadata.finalizers ?? []), JOB_TRACKING_FINALIZER];
    if (index !== undefined) {
      pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), [COMPLETION_INDEX]: String(index) };
      pod.metadata.labels = { ...pod.metadata.labels, [COMPLETION_INDEX]: String(index) };
      pod.spec.hostname = `${job.metadata.name}-${index}`;
      for (const c of (pod.spec.containers ?? []) as KubeObject[]) {
        c.env = [...(c.env ?? []), { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${COMPLETION_INDEX}']` } } }];
      }
    }
    this.api.create(this.pods, job.metadata.namespace, pod, asController());
  }

  /** The TTL-after-finished controller: deletes the Job (foreground) ttlSecondsAfterFinished after it finished. */
  private expireAfterFinished(job: KubeObject): void {
    const ttl = job.spec?.ttlSecondsAfterFinished;
    if (typeof ttl !== 'number' || job.metadata.deletionTimestamp) return;
    const finished = ((job.status?.conditions ?? []) as KubeObject[]).find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
    const at = Date.parse(finished?.lastTransitionTime ?? '') + ttl * 1000;
    if (Number.isNaN(at)) return;
    const left = at - this.api.clock().getTime();
    if (left > 0) {
      this.queue.addAfter(keyOf(job), left + 10);
      return;
    }
    this.api.delete(this.primary, job.metadata.namespace, job.metadata.name, { propagationPolicy: 'Foreground' });
  }
}
