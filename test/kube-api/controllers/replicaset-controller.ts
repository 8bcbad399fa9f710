/**
 * The ReplicaSet controller: keeps `spec.replicas` active pods (named `<rs-name>-<5 chars>`, as generateName
 * makes them) with the template's labels and a controller reference, adopts matching orphans, and reports
 * replicas / fullyLabeledReplicas / readyReplicas / availableReplicas / observedGeneration.
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
  controllerRefOf,
  deletionOrder,
  isPodActive,
  isPodReady,
  keyOf,
  newControllerRef,
  omitZero,
  ownerKeys,
  podFromTemplate,
  sameJson,
  selectorOf,
  splitKey,
} from './workload-util.ts';

/** Pods created or deleted per sync at most (the real controller's burstReplicas). */
const BURST = 500;

export function startReplicaSetController(api: KubeApi, _options: EmulatorOptions = {}): () => void {
  const controller = new ReplicaSetController(api);
  return () => controller.stop();
}

class ReplicaSetController extends StoreController {
  private readonly pods: ResourceType;

  constructor(api: KubeApi) {
    super(api, 'replicaset-controller', api.mustType('apps', 'replicasets'));
    this.pods = api.mustType('', 'pods');
  }

  protected onEvent(event: StoreEvent): void {
    if (event.resource === 'apps/replicasets') {
      this.queue.add(keyOf(event.object));
    } else if (event.resource === '/pods') {
      const keys = ownerKeys(event, 'ReplicaSet');
      for (const key of keys) this.queue.add(key);
      if (!controllerRefOf(event.object) && event.type !== 'DELETED') {
        for (const rs of this.api.list(this.primary, event.object.metadata.namespace)) {
          if (selectorOf(rs)(event.object.metadata.labels ?? {})) this.queue.add(keyOf(rs));
        }
      }
    }
  }

  protected sync(key: string): void {
    const [namespace, name] = splitKey(key);
    const rs = this.api.store.get('apps/replicasets', namespace, name);
    if (!rs) return;
    const pods = claim(this.api, this.pods, rs, 'apps/v1', 'ReplicaSet').filter(isPodActive);
    if (!rs.metadata.deletionTimestamp) this.manageReplicas(rs, pods);
    this.updateStatus(key);
  }

  private manageReplicas(rs: KubeObject, pods: KubeObject[]): void {
    const diff = pods.length - (rs.spec?.replicas ?? 1);
    if (diff < 0) {
      const ref = newControllerRef(rs, 'apps/v1', 'ReplicaSet');
      for (let i = 0; i < Math.min(-diff, BURST); i++) {
        const pod = podFromTemplate(rs.spec.template, rs.metadata.namespace, ref, { generateName: `${rs.metadata.name}-` });
        this.api.create(this.pods, rs.metadata.namespace, pod, asController());
      }
    } else if (diff > 0) {
      for (const pod of [...pods].sort(deletionOrder).slice(0, Math.min(diff, BURST))) {
        this.api.delete(this.pods, pod.metadata.namespace, pod.metadata.name, {});
      }
    }
  }

  private updateStatus(key: string): void {
    const [namespace, name] = splitKey(key);
    const rs = this.api.store.get('apps/replicasets', namespace, name);
    if (!rs) return;
    const pods = this.api.list(this.pods, namespace).filter((p) => controllerRefOf(p)?.uid === rs.metadata.uid && isPodActive(p));
    const templateLabels = (rs.spec?.template?.metadata?.labels ?? {}) as Record<string, string>;
    const minReadySeconds = rs.spec?.minReadySeconds ?? 0;
    const nowMs = this.api.clock().getTime();
    let available = 0;
    let nextAvailable: number | undefined;
    for (const p of pods) {
      const wait = availableIn(p, minReadySeconds, nowMs);
      if (wait === 0) available++;
      else if (wait !== undefined) nextAvailable = Math.min(nextAvailable ?? wait, wait);
    }
    const status = omitZero(
      {
        replicas: pods.length,
        fullyLabeledReplicas: pods.filter((p) => Object.entries(templateLabels).every(([k, v]) => p.metadata.labels?.[k] === v)).length,
        readyReplicas: pods.filter(isPodReady).length,
        availableReplicas: available,
        observedGeneration: rs.metadata.generation,
        ...(rs.status?.conditions ? { conditions: rs.status.conditions } : {}),
      },
      ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration'],
    );
    if (!sameJson(rs.status ?? {}, status)) {
      this.api.update(this.primary, namespace, name, { ...rs, status }, 'status', asController());
    }
    // A ready pod becomes available after minReadySeconds without any event: look again then.
    if (nextAvailable !== undefined) this.queue.addAfter(key, nextAvailable + 10);
  }
}
