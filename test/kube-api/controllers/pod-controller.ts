/**
 * Stands in for the scheduler and the kubelet of the emulator's single node (`emulator-node`). A pod is
 * bound to the node and shows `ContainerCreating` at once, then after `podReadyDelayMs` (default 500 ms)
 * becomes Running and Ready with the conditions, container statuses and IPs a kubelet reports.
 *
 * Test conventions (README "Test conventions"):
 * - an image whose tag ends in `-broken` never becomes ready: the pod is Running, Ready False, and the
 *   container waits in CrashLoopBackOff with its restartCount going up now and then;
 * - pods that run to completion (restartPolicy Never or OnFailure, which Job pods have, or any pod a Job
 *   controls) end Succeeded after the delay, or Failed (exit code 1) when an image tag ends in `-fail`.
 */
import { createHash } from 'node:crypto';
import type { KubeApi } from '../api.ts';
import type { EmulatorOptions } from '../emulator.ts';
import type { KubeObject, StoreEvent } from '../store.ts';
import { StoreController } from './store-controller.ts';
import { controllerRefOf, keyOf, NODE_IP, NODE_NAME, podCondition, sameJson, splitKey, timestamp } from './workload-util.ts';

export const DEFAULT_POD_READY_DELAY_MS = 500;

export function startPodController(api: KubeApi, options: EmulatorOptions = {}): () => void {
  const controller = new PodController(api, options.podReadyDelayMs ?? DEFAULT_POD_READY_DELAY_MS);
  return () => controller.stop();
}

/** The tag of an image reference (`repo:tag`, `host:port/repo:tag@sha256:...`), or '' without one. */
export function imageTag(image: string | undefined): string {
  const ref = (image ?? '').split('@')[0]!;
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? ref.slice(colon + 1) : '';
}

export const isBrokenImage = (image: string | undefined) => imageTag(image).endsWith('-broken');
export const isFailingImage = (image: string | undefined) => imageTag(image).endsWith('-fail');

function runsToCompletion(pod: KubeObject): boolean {
  return (pod.spec?.restartPolicy ?? 'Always') !== 'Always' || controllerRefOf(pod)?.kind === 'Job';
}

/** docker.io/library/nginx:1.25 → docker.io/library/nginx, as container runtimes name images. */
function repository(image: string): string {
  const ref = image.split('@')[0]!;
  const colon = ref.lastIndexOf(':');
  const repo = colon > ref.lastIndexOf('/') ? ref.slice(0, colon) : ref;
  const first = repo.split('/')[0]!;
  if (repo.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) return repo;
  return `docker.io/${repo.includes('/') ? repo : `library/${repo}`}`;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function qosClass(pod: KubeObject): string {
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])] as KubeObject[];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const requests = c.resources?.requests ?? {};
    const limits = c.resources?.limits ?? {};
    for (const r of ['cpu', 'memory']) {
      if (requests[r] !== undefined || limits[r] !== undefined) any = true;
      if (limits[r] === undefined || (requests[r] !== undefined && String(requests[r]) !== String(limits[r]))) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

interface PodState {
  /** When the controller first saw the pod (ms): readiness counts from here. */
  seen: number;
  /** For crash-looping pods: restarts so far and when the container restarts next. */
  restarts?: number;
  nextRestart?: number;
}

class PodController extends StoreController {
  private readonly states = new Map<string, PodState>();
  private nextIp = 0;

  constructor(
    api: KubeApi,
    private readonly delayMs: number,
  ) {
    super(api, 'pod-controller', api.mustType('', 'pods'));
  }

  override stop(): void {
    super.stop();
    this.states.clear();
  }

  protected onEvent(event: StoreEvent): void {
    if (event.resource !== '/pods') return;
    if (event.type === 'DELETED') this.states.delete(event.object.metadata.uid);
    else this.queue.add(keyOf(event.object));
  }

  protected sync(key: string): void {
    const [namespace, name] = splitKey(key);
    let pod = this.api.store.get('/pods', namespace, name);
    if (!pod || pod.metadata.deletionTimestamp) return;
    const phase = pod.status?.phase ?? 'Pending';
    if (phase === 'Succeeded' || phase === 'Failed') return;
    let state = this.states.get(pod.metadata.uid);
    if (!state) {
      state = { seen: Date.now() };
      this.states.set(pod.metadata.uid, state);
    }
    if (!pod.spec?.nodeName) {
      // The scheduler's binding.
      const next = structuredClone(pod);
      next.spec.nodeName = NODE_NAME;
      pod = this.api.update(this.primary, namespace, name, next, undefined, { fieldManager: 'kube-scheduler' });
    }
    const due = state.seen + this.delayMs - Date.now();
    if (due > 0) {
      this.write(pod, this.creatingStatus(pod));
      this.queue.addAfter(key, due);
      return;
    }
    if (runsToCompletion(pod) && !this.containers(pod).some((c) => isBrokenImage(c.image))) {
      this.write(pod, this.finishedStatus(pod));
      return;
    }
    this.write(pod, this.runningStatus(pod, state));
    if (state.nextRestart !== undefined) this.queue.addAfter(key, state.nextRestart - Date.now());
  }

  private write(pod: KubeObject, status: KubeObject): void {
    if (sameJson(pod.status, status)) return;
    this.api.update(this.primary, pod.metadata.namespace, pod.metadata.name, { ...pod, status }, 'status', { fieldManager: 'kubelet' });
  }

  private containers(pod: KubeObject): KubeObject[] {
    return (pod.spec?.containers ?? []) as KubeObject[];
  }

  // ---- statuses -----------------------------------------------------------------------------------

  /** Keeps lastTransitionTime of a condition whose status did not change. */
  private conditions(pod: KubeObject, wanted: [string, boolean, string?, string?][]): KubeObject[] {
    const t = timestamp(this.api);
    return wanted.map(([type, ok, reason, message]) => {
      const old = podCondition(pod, type);
      const status = ok ? 'True' : 'False';
      return {
        type,
        status,
        lastProbeTime: null,
        lastTransitionTime: old?.status === status ? old.lastTransitionTime : t,
        ...(reason ? { reason } : {}),
        ...(message ? { message } : {}),
      };
    });
  }

  private base(pod: KubeObject, phase: string, extra: KubeObject): KubeObject {
    const old = pod.status ?? {};
    return {
      ...extra,
      hostIP: NODE_IP,
      hostIPs: [{ ip: NODE_IP }],
      phase,
      ...(extra.podIP ? { podIPs: [{ ip: extra.podIP }] } : {}),
      qosClass: qosClass(pod),
      startTime: old.startTime ?? timestamp(this.api),
    };
  }

  private creatingStatus(pod: KubeObject): KubeObject {
    const names = this.containers(pod).map((c) => c.name);
    const inits = (pod.spec?.initContainers ?? []) as KubeObject[];
    const waiting = (c: KubeObject, reason: string) => ({
      image: c.image,
      imageID: '',
      lastState: {},
      name: c.name,
      ready: false,
      restartCount: 0,
      started: false,
      state: { waiting: { reason } },
    });
    return this.base(pod, 'Pending', {
      conditions: this.conditions(pod, [
        ['PodReadyToStartContainers', false],
        inits.length > 0 ? ['Initialized', false, 'ContainersNotInitialized', `containers with incomplete status: [${inits.map((c) => c.name).join(' ')}]`] : ['Initialized', true],
        ['Ready', false, 'ContainersNotReady', `containers with unready status: [${names.join(' ')}]`],
        ['ContainersReady', false, 'ContainersNotReady', `containers with unready status: [${names.join(' ')}]`],
        ['PodScheduled', true],
      ]),
      containerStatuses: this.containers(pod).map((c) => waiting(c, inits.length > 0 ? 'PodInitializing' : 'ContainerCreating')),
      ...(inits.length > 0 ? { initContainerStatuses: inits.map((c) => waiting(c, 'PodInitializing')) } : {}),
    });
  }

  private runningStatus(pod: KubeObject, state: PodState): KubeObject {
    const old = pod.status ?? {};
    const t = timestamp(this.api);
    const broken = this.containers(pod).filter((c) => isBrokenImage(c.image)).map((c) => c.name as string);
    const previous = new Map(((old.containerStatuses ?? []) as KubeObject[]).map((s) => [s.name, s]));
    if (broken.length > 0) this.advanceRestarts(state);
    const containerStatuses = this.containers(pod).map((c) => {
      const prev = previous.get(c.name);
      const id = `containerd://${sha256(`${pod.metadata.uid}/${c.name}`)}`;
      const common = { containerID: id, image: c.image, imageID: `${repository(c.image ?? '')}@sha256:${sha256(c.image ?? '')}`, name: c.name };
      if (!broken.includes(c.name)) {
        return { ...common, lastState: {}, ready: true, restartCount: 0, started: true, state: { running: { startedAt: prev?.state?.running?.startedAt ?? t } } };
      }
      const restartCount = Math.max(prev?.restartCount ?? 0, state.restarts ?? 0);
      const lastTerminated = prev?.lastState?.terminated && prev.restartCount === restartCount ? prev.lastState.terminated : { containerID: id, exitCode: 1, finishedAt: t, reason: 'Error', startedAt: t };
      return {
        ...common,
        lastState: { terminated: lastTerminated },
        ready: false,
        restartCount,
        started: false,
        state: { waiting: { message: `back-off ${this.backoffSeconds(restartCount)}s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`, reason: 'CrashLoopBackOff' } },
      };
    });
    const unready = broken.length > 0 ? `containers with unready status: [${broken.join(' ')}]` : undefined;
    return this.base(pod, 'Running', {
      conditions: this.conditions(pod, [
        ['PodReadyToStartContainers', true],
        ['Initialized', true],
        ['Ready', !unready, unready ? 'ContainersNotReady' : undefined, unready],
        ['ContainersReady', !unready, unready ? 'ContainersNotReady' : undefined, unready],
        ['PodScheduled', true],
      ]),
      containerStatuses,
      ...this.initStatuses(pod),
      podIP: old.podIP ?? this.allocateIp(),
    });
  }

  private finishedStatus(pod: KubeObject): KubeObject {
    const old = pod.status ?? {};
    const t = timestamp(this.api);
    const failed = this.containers(pod).some((c) => isFailingImage(c.image));
    const reason = failed ? 'PodFailed' : 'PodCompleted';
    return this.base(pod, failed ? 'Failed' : 'Succeeded', {
      conditions: this.conditions(pod, [
        ['PodReadyToStartContainers', false],
        ['Initialized', true, reason],
        ['Ready', false, reason],
        ['ContainersReady', false, reason],
        ['PodScheduled', true],
      ]),
      containerStatuses: this.containers(pod).map((c) => {
        const id = `containerd://${sha256(`${pod.metadata.uid}/${c.name}`)}`;
        const fails = isFailingImage(c.image);
        return {
          containerID: id,
          image: c.image,
          imageID: `${repository(c.image ?? '')}@sha256:${sha256(c.image ?? '')}`,
          lastState: {},
          name: c.name,
          ready: false,
          restartCount: 0,
          started: false,
          state: { terminated: { containerID: id, exitCode: fails ? 1 : 0, finishedAt: t, reason: fails ? 'Error' : 'Completed', startedAt: old.startTime ?? t } },
        };
      }),
      ...this.initStatuses(pod),
      podIP: old.podIP ?? this.allocateIp(),
    });
  }

  private initStatuses(pod: KubeObject): KubeObject {
    const inits = (pod.spec?.initContainers ?? []) as KubeObject[];
    if (inits.length === 0) return {};
    const old = new Map(((pod.status?.initContainerStatuses ?? []) as KubeObject[]).map((s) => [s.name, s]));
    const t = timestamp(this.api);
    return {
      initContainerStatuses: inits.map((c) => {
        const id = `containerd://${sha256(`${pod.metadata.uid}/init/${c.name}`)}`;
        const prev = old.get(c.name)?.state?.terminated;
        return {
          containerID: id,
          image: c.image,
          imageID: `${repository(c.image ?? '')}@sha256:${sha256(c.image ?? '')}`,
          lastState: {},
          name: c.name,
          ready: true,
          restartCount: 0,
          started: false,
          state: { terminated: prev ?? { containerID: id, exitCode: 0, finishedAt: t, reason: 'Completed', startedAt: t } },
        };
      }),
    };
  }

  // ---- crash loops and addresses --------------------------------------------------------------------

  /** Back-off doubles from 10× the ready delay (at least 1 s) up to 5 minutes, like the kubelet's 10 s → 5 min. */
  private backoffMs(restarts: number): number {
    return Math.min(Math.max(this.delayMs * 10, 1000) * 2 ** restarts, 300_000);
  }

  private backoffSeconds(restarts: number): number {
    return Math.min(10 * 2 ** Math.max(0, restarts - 1), 300);
  }

  private advanceRestarts(state: PodState): void {
    const nowMs = Date.now();
    state.restarts ??= 1;
    state.nextRestart ??= nowMs + this.backoffMs(state.restarts);
    while (state.nextRestart <= nowMs) {
      state.restarts += 1;
      state.nextRestart += this.backoffMs(state.restarts);
    }
  }

  private allocateIp(): string {
    const used = new Set(this.api.list(this.primary, undefined).map((p) => p.status?.podIP));
    for (;;) {
      const n = this.nextIp++;
      const ip = `10.244.${Math.floor(n / 250) % 256}.${(n % 250) + 2}`;
      if (!used.has(ip)) return ip;
    }
  }
}
