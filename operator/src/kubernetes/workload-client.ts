/**
 * The API calls the driver makes, for the three workload kinds and what they own (ReplicaSets,
 * ControllerRevisions) plus Services, on one cluster. Objects come back as plain JSON-shaped records, so
 * the pure rollout helpers read them the same way whatever the kind.
 */
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { formatLabelSelector } from '../planning/selectors.ts';
import type { WorkloadKind } from '../planning/workload-rollout.ts';
import { describeFailure, isNotFound, WorkloadNotFoundError } from './api-errors.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- workload JSON of several kinds, read defensively
export type KubeObject = Record<string, any>;

/** Written into managedFields, so `kubectl get -o yaml --show-managed-fields` shows who changed what. */
export const FIELD_MANAGER = 'shipway';

export type Patch = { strategy: 'strategic'; body: KubeObject } | { strategy: 'merge'; body: KubeObject } | { strategy: 'json'; body: KubeObject[] };

const contentType = { strategic: PatchStrategy.StrategicMergePatch, merge: PatchStrategy.MergePatch, json: PatchStrategy.JsonPatch } as const;

// client-node 1.x sends every patch as a JSON patch unless the Content-Type header is overridden.
const patchOptions = (patch: Patch) => setHeaderOptions('Content-Type', contentType[patch.strategy]);

const plain = (o: unknown): KubeObject => o as KubeObject;

export class WorkloadClient {
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;

  constructor(kubeConfig: KubeConfig) {
    this.apps = kubeConfig.makeApiClient(AppsV1Api);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  /** The workload, or undefined when it does not exist. */
  async find(kind: WorkloadKind, namespace: string, name: string): Promise<KubeObject | undefined> {
    const request = { name, namespace };
    try {
      return await describeFailure(`read ${kind} ${namespace}/${name}`, async () => {
        switch (kind) {
          case 'Deployment':
            return plain(await this.apps.readNamespacedDeployment(request));
          case 'StatefulSet':
            return plain(await this.apps.readNamespacedStatefulSet(request));
          case 'DaemonSet':
            return plain(await this.apps.readNamespacedDaemonSet(request));
        }
      });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async read(kind: WorkloadKind, namespace: string, name: string): Promise<KubeObject> {
    const found = await this.find(kind, namespace, name);
    if (!found) throw new WorkloadNotFoundError(kind, namespace, name);
    return found;
  }

  async patch(kind: WorkloadKind, namespace: string, name: string, patch: Patch): Promise<KubeObject> {
    const request = { name, namespace, body: patch.body, fieldManager: FIELD_MANAGER };
    const options = patchOptions(patch);
    try {
      return await describeFailure(`patch ${kind} ${namespace}/${name}`, async () => {
        switch (kind) {
          case 'Deployment':
            return plain(await this.apps.patchNamespacedDeployment(request, options));
          case 'StatefulSet':
            return plain(await this.apps.patchNamespacedStatefulSet(request, options));
          case 'DaemonSet':
            return plain(await this.apps.patchNamespacedDaemonSet(request, options));
        }
      });
    } catch (error) {
      if (isNotFound(error)) throw new WorkloadNotFoundError(kind, namespace, name);
      throw error;
    }
  }

  async createDeployment(body: KubeObject): Promise<KubeObject> {
    const namespace = String(body.metadata.namespace);
    return describeFailure(`create Deployment ${namespace}/${body.metadata.name}`, async () =>
      plain(await this.apps.createNamespacedDeployment({ namespace, body: body as never, fieldManager: FIELD_MANAGER })),
    );
  }

  /** Deletes a Deployment (its ReplicaSets and Pods follow); false when it was already gone. */
  async deleteDeployment(namespace: string, name: string): Promise<boolean> {
    try {
      await describeFailure(`delete Deployment ${namespace}/${name}`, () => this.apps.deleteNamespacedDeployment({ name, namespace, propagationPolicy: 'Background' }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** ReplicaSets (Deployments) or ControllerRevisions (StatefulSets, DaemonSets) the workload controls. */
  async history(workload: KubeObject): Promise<KubeObject[]> {
    const namespace = String(workload.metadata.namespace);
    const labelSelector = formatLabelSelector(workload.spec?.selector);
    const items = await describeFailure(`list the revisions of ${workload.kind} ${namespace}/${workload.metadata.name}`, async () =>
      workload.kind === 'Deployment'
        ? (await this.apps.listNamespacedReplicaSet({ namespace, labelSelector })).items
        : (await this.apps.listNamespacedControllerRevision({ namespace, labelSelector })).items,
    );
    return items.map(plain).filter((o) => (o.metadata?.ownerReferences ?? []).some((r: KubeObject) => r.controller && r.uid === workload.metadata.uid));
  }

  /** Deletes one revision (ReplicaSet or ControllerRevision); false when it was already gone. */
  async deleteRevision(workload: KubeObject, name: string): Promise<boolean> {
    const namespace = String(workload.metadata.namespace);
    const kind = workload.kind === 'Deployment' ? 'ReplicaSet' : 'ControllerRevision';
    try {
      await describeFailure(`delete ${kind} ${namespace}/${name}`, () =>
        kind === 'ReplicaSet'
          ? this.apps.deleteNamespacedReplicaSet({ name, namespace, propagationPolicy: 'Background' })
          : this.apps.deleteNamespacedControllerRevision({ name, namespace }),
      );
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async findService(namespace: string, name: string): Promise<KubeObject | undefined> {
    try {
      return await describeFailure(`read Service ${namespace}/${name}`, async () => plain(await this.core.readNamespacedService({ name, namespace })));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async patchService(namespace: string, name: string, patch: Patch): Promise<KubeObject> {
    return describeFailure(`patch Service ${namespace}/${name}`, async () =>
      plain(await this.core.patchNamespacedService({ name, namespace, body: patch.body, fieldManager: FIELD_MANAGER }, patchOptions(patch))),
    );
  }
}
