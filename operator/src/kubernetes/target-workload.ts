/**
 * From a Target to the workload the driver acts on: its cluster's client, namespace, kind and name.
 *
 * A Target with a blue-green Service follows the live colour: once traffic has moved to `<name>-green`,
 * observing, setting images, waiting, rolling back and cleaning up act on that Deployment, so the version
 * the engine records is the one serving. Targets without `service` always act on `<name>`.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { WorkloadKind } from '../planning/workload-rollout.ts';
import type { TargetRef } from '../tasks/task-executor.ts';
import { colorWorkloadName, liveColor } from './blue-green-colors.ts';
import { TargetConfigError, type ClusterClients } from './cluster-clients.ts';
import { WorkloadClient } from './workload-client.ts';

export interface TargetWorkload {
  target: TargetRef;
  kubeConfig: KubeConfig;
  client: WorkloadClient;
  namespace: string;
  kind: WorkloadKind;
  /** The workload acted on: the Target's own, or the live blue-green colour. */
  name: string;
  /** The Target's own workload name (`spec.kubernetes.name`). */
  baseName: string;
  /** The container whose image is the version; undefined means the first. */
  container?: string;
  service?: string;
}

export class TargetWorkloads {
  // One API client per cluster configuration: ClusterClients hands out the same KubeConfig until the Secret changes.
  private readonly clients = new WeakMap<KubeConfig, WorkloadClient>();

  constructor(readonly clusters: ClusterClients) {}

  clientFor(kubeConfig: KubeConfig): WorkloadClient {
    let client = this.clients.get(kubeConfig);
    if (!client) {
      client = new WorkloadClient(kubeConfig);
      this.clients.set(kubeConfig, client);
    }
    return client;
  }

  /** The Target's own workload (`spec.kubernetes.name`), without following blue-green colours. */
  async own(target: TargetRef): Promise<TargetWorkload> {
    const kubeConfig = await this.clusters.kubeConfigFor(target);
    const spec = target.spec.kubernetes;
    if (!spec) throw new TargetConfigError('NotKubernetesTarget', `Target ${target.namespace}/${target.name} has no spec.kubernetes`);
    return {
      target,
      kubeConfig,
      client: this.clientFor(kubeConfig),
      namespace: spec.namespace,
      kind: spec.kind ?? 'Deployment',
      name: spec.name,
      baseName: spec.name,
      ...(spec.container ? { container: spec.container } : {}),
      ...(spec.service ? { service: spec.service } : {}),
    };
  }

  /** The workload serving the Target now (the live colour for blue-green Targets). */
  async live(target: TargetRef): Promise<TargetWorkload> {
    const own = await this.own(target);
    if (!own.service || own.kind !== 'Deployment') return own;
    const service = await own.client.findService(own.namespace, own.service);
    return { ...own, name: colorWorkloadName(own.baseName, liveColor(service)) };
  }
}
