/** An in-process API with the workload controllers and the garbage collector, and bounded polling. */
import { KubeApi } from '../../kube-api/api.ts';
import { GarbageCollector } from '../../kube-api/controllers/garbage-collector.ts';
import { workloadControllers } from '../../kube-api/controllers/index.ts';
import type { ResourceType } from '../../kube-api/resource-types.ts';
import type { KubeObject } from '../../kube-api/store.ts';

export interface Cluster {
  api: KubeApi;
  types: Record<'deployments' | 'replicasets' | 'pods' | 'statefulsets' | 'daemonsets' | 'jobs' | 'controllerrevisions' | 'pvcs', ResourceType>;
  stop(): void;
}

export function startCluster(podReadyDelayMs = 50): Cluster {
  const api = new KubeApi();
  const gc = new GarbageCollector(api);
  const stops = workloadControllers.map((start) => start(api, { podReadyDelayMs }));
  return {
    api,
    types: {
      deployments: api.mustType('apps', 'deployments'),
      replicasets: api.mustType('apps', 'replicasets'),
      pods: api.mustType('', 'pods'),
      statefulsets: api.mustType('apps', 'statefulsets'),
      daemonsets: api.mustType('apps', 'daemonsets'),
      jobs: api.mustType('batch', 'jobs'),
      controllerrevisions: api.mustType('apps', 'controllerrevisions'),
      pvcs: api.mustType('', 'persistentvolumeclaims'),
    },
    stop() {
      for (const stop of stops) stop();
      gc.stop();
    },
  };
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs` with the last state. */
export async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 5_000, describe?: () => unknown): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${describe ? `: ${JSON.stringify(describe(), null, 1)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Waits until nothing is written for `quietMs` (controllers settled), bounded by `timeoutMs`. */
export async function settle(api: KubeApi, quietMs = 100, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let rv = api.store.resourceVersion;
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    if (Date.now() > deadline) throw new Error('controllers did not settle');
    await new Promise((resolve) => setTimeout(resolve, 10));
    if (api.store.resourceVersion !== rv) {
      rv = api.store.resourceVersion;
      since = Date.now();
    }
  }
}

/** What `kubectl rollout status deployment` decides (polymorphichelpers DeploymentStatusViewer). */
export function deploymentRolloutStatus(d: KubeObject): { done: boolean; message: string; error?: string } {
  const s = d.status ?? {};
  if ((d.metadata.generation ?? 0) > (s.observedGeneration ?? 0)) return { done: false, message: 'Waiting for deployment spec update to be observed...' };
  const progressing = (s.conditions ?? []).find((c: KubeObject) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') return { done: false, message: '', error: `deployment "${d.metadata.name}" exceeded its progress deadline` };
  const want = d.spec.replicas ?? 1;
  const updated = s.updatedReplicas ?? 0;
  if (updated < want) return { done: false, message: `${updated} out of ${want} new replicas have been updated...` };
  if ((s.replicas ?? 0) > updated) return { done: false, message: `${(s.replicas ?? 0) - updated} old replicas are pending termination...` };
  if ((s.availableReplicas ?? 0) < updated) return { done: false, message: `${s.availableReplicas ?? 0} of ${updated} updated replicas are available...` };
  return { done: true, message: `deployment "${d.metadata.name}" successfully rolled out` };
}

export const podTemplate = (labels: Record<string, string>, image: string, extra: KubeObject = {}) => ({
  metadata: { labels },
  spec: { containers: [{ name: 'app', image }], ...extra },
});

export function deployment(name: string, image: string, spec: KubeObject = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: podTemplate({ app: name }, image), ...spec },
  };
}

export const condition = (o: KubeObject | undefined, type: string): KubeObject | undefined => (o?.status?.conditions ?? []).find((c: KubeObject) => c.type === type);

/**
 * The object of the first store event (from now on) that `match` accepts: for states that last only a few
 * milliseconds (a pod still Pending, a Job still active), which polling could miss on a busy machine.
 */
export function nextEvent(api: KubeApi, match: (resource: string, object: KubeObject) => boolean, timeoutMs = 5_000): Promise<KubeObject> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`no matching event within ${timeoutMs} ms`));
    }, timeoutMs);
    const unsubscribe = api.store.subscribe((event) => {
      if (event.type === 'DELETED' || !match(event.resource, event.object)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(structuredClone(event.object));
    });
  });
}
