/**
 * The DaemonSet controller for the emulator's single node: one pod `<name>-<5 chars>` on `emulator-node`
 * labelled with `controller-revision-hash` and `pod-template-generation`, ControllerRevisions for history,
 * RollingUpdate (the old pod is replaced, maxUnavailable 1 on one node) or OnDelete, and the status
 * `kubectl rollout status daemonset` reads.
 */
import type { KubeApi } from '../api.ts';
import type { EmulatorOptions } from '../emulator.ts';
import type { ResourceType } from '../resource-types.ts';
import type { KubeObject, StoreEvent } from '../store.ts';
import { StoreController } from './store-controller.ts';
import {
  asController,
  availableIn,
  byCreation,
  claim,
  controllerRefOf,
  hashTemplate,
  isPodActive,
  isPodReady,
  keyOf,
  newControllerRef,
  NODE_NAME,
  omitZero,
  ownerKeys,
  podFromTemplate,
  REVISION_HASH_LABEL,
  sameJson,
  splitKey,
  syncRevisions,
  truncateHistory,
} from './workload-util.ts';

const REVISION_LABEL = 'controller-revision-hash';
const GENERATION_LABEL = 'pod-template-generation';

export function startDaemonSetController(api: KubeApi, _options: EmulatorOptions = {}): () => void {
  const controller = new DaemonSetController(api);
  return () => controller.stop();
}

class DaemonSetController extends StoreController {
  private readonly pods: ResourceType;

  constructor(api: KubeApi) {
    super(api, 'daemonset-controller', api.mustType('apps', 'daemonsets'));
    this.pods = api.mustType('', 'pods');
  }

  protected onEvent(event: StoreEvent): void {
    if (event.resource === 'apps/daemonsets') this.queue.add(keyOf(event.object));
    else if (event.resource === '/pods' || event.resource === 'apps/controllerrevisions') {
      for (const key of ownerKeys(event, 'DaemonSet')) this.queue.add(key);
    }
  }

  protected sync(key: string): void {
    const [namespace, name] = splitKey(key);
    const stored = this.api.store.get('apps/daemonsets', namespace, name);
    if (!stored) return;
    const ds = structuredClone(stored);
    if (ds.metadata.deletionTimestamp) {
      this.updateStatus(key, hashTemplate(ds.spec.template));
      return;
    }
    const { update, all } = syncRevisions(this.api, ds, 'DaemonSet');
    const hash = update.metadata.labels?.[REVISION_HASH_LABEL] as string;
    const pods = claim(this.api, this.pods, ds, 'apps/v1', 'DaemonSet');
    this.manage(ds, pods, hash);
    this.updateStatus(key, hash);
    const live = new Set<string>([update.metadata.name]);
    for (const p of this.ownedPods(ds)) live.add(`${ds.metadata.name}-${p.metadata.labels?.[REVISION_LABEL]}`);
    truncateHistory(this.api, all, live, ds.spec.revisionHistoryLimit ?? 10);
  }

  private ownedPods(ds: KubeObject): KubeObject[] {
    return this.api.list(this.pods, ds.metadata.namespace).filter((p) => controllerRefOf(p)?.uid === ds.metadata.uid);
  }

  private manage(ds: KubeObject, pods: KubeObject[], hash: string): void {
    const onNode = pods.filter((p) => (p.spec?.nodeName ?? NODE_NAME) === NODE_NAME);
    for (const pod of onNode) {
      if (pod.status?.phase === 'Failed' && !pod.metadata.deletionTimestamp) this.api.delete(this.pods, pod.metadata.namespace, pod.metadata.name, {});
    }
    const running = onNode.filter(isPodActive).sort(byCreation);
    // One daemon pod per node: the oldest stays.
    for (const extra of running.slice(1)) this.api.delete(this.pods, extra.metadata.namespace, extra.metadata.name, {});
    const pod = running[0];
    if (!pod) {
      if (onNode.some((p) => p.metadata.deletionTimestamp)) return;
      const created = podFromTemplate(ds.spec.template, ds.metadata.namespace, newControllerRef(ds, 'apps/v1', 'DaemonSet'), { generateName: `${ds.metadata.name}-` });
      created.metadata.labels = { ...created.metadata.labels, [REVISION_LABEL]: hash, [GENERATION_LABEL]: String(ds.metadata.generation ?? 1) };
      created.spec.nodeName = NODE_NAME;
      this.api.create(this.pods, ds.metadata.namespace, created, asController());
      return;
    }
    const rolling = (ds.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    if (rolling && pod.metadata.labels?.[REVISION_LABEL] !== hash) {
      // maxUnavailable 1 on a single node: the old pod goes, the new one follows on the next pass.
      this.api.delete(this.pods, pod.metadata.namespace, pod.metadata.name, {});
    }
  }

  private updateStatus(key: string, hash: string | undefined): void {
    const [namespace, name] = splitKey(key);
    const ds = this.api.store.get('apps/daemonsets', namespace, name);
    if (!ds) return;
    const pods = this.ownedPods(ds).filter(isPodActive);
    const minReadySeconds = ds.spec.minReadySeconds ?? 0;
    const nowMs = this.api.clock().getTime();
    const pod = pods[0];
    const wait = pod ? availableIn(pod, minReadySeconds, nowMs) : undefined;
    const available = wait === 0 ? 1 : 0;
    const status = omitZero(
      {
        currentNumberScheduled: pod ? 1 : 0,
        numberMisscheduled: 0,
        desiredNumberScheduled: 1,
        numberReady: pod && isPodReady(pod) ? 1 : 0,
        observedGeneration: ds.metadata.generation,
        updatedNumberScheduled: pod && hash && pod.metadata.labels?.[REVISION_LABEL] === hash ? 1 : 0,
        numberAvailable: available,
        numberUnavailable: 1 - available,
        ...(ds.status?.conditions ? { conditions: ds.status.conditions } : {}),
      },
      ['observedGeneration', 'updatedNumberScheduled', 'numberAvailable', 'numberUnavailable'],
    );
    if (!sameJson(ds.status ?? {}, status)) this.api.update(this.primary, namespace, name, { ...ds, status }, 'status', asController());
    if (wait !== undefined && wait > 0) this.queue.addAfter(key, wait + 10);
  }
}
