/**
 * Reads and writes of Shipway's custom resources through client-node's CustomObjectsApi: status as a merge
 * patch on the status subresource, metadata (finalizers, action annotations) as a merge patch of the
 * object. Both carry the resourceVersion the controller read, so a write based on a stale read fails with
 * 409 instead of undoing someone else's change (and a second operator replica can never overwrite).
 */
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { isConflict, isNotFound } from '../kubernetes/api-errors.ts';
import { API_GROUP, API_VERSION } from '../api/common.ts';
import { TransientError } from '../runtime/errors.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- custom resources are checked by their schemas
export type CustomObject = { apiVersion: string; kind: string; metadata: Record<string, any>; spec: any; status?: any };

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);


export class CustomResources {
  private readonly api: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig, private readonly plural: string) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async get(namespace: string, name: string): Promise<CustomObject | undefined> {
    try {
      return (await this.api.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: this.plural, name })) as CustomObject;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async patchStatus(object: CustomObject, status: unknown): Promise<CustomObject> {
    return this.guard(() =>
      this.api.patchNamespacedCustomObjectStatus(
        { group: API_GROUP, version: API_VERSION, namespace: object.metadata.namespace, plural: this.plural, name: object.metadata.name, body: { metadata: { resourceVersion: object.metadata.resourceVersion }, status } },
        mergePatch,
      ),
    );
  }

  async patchMetadata(object: CustomObject, metadata: Record<string, unknown>): Promise<CustomObject> {
    return this.guard(() =>
      this.api.patchNamespacedCustomObject(
        { group: API_GROUP, version: API_VERSION, namespace: object.metadata.namespace, plural: this.plural, name: object.metadata.name, body: { metadata: { ...metadata, resourceVersion: object.metadata.resourceVersion } } },
        mergePatch,
      ),
    );
  }

  async delete(namespace: string, name: string): Promise<void> {
    try {
      await this.api.deleteNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: this.plural, name });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  private async guard(write: () => Promise<unknown>): Promise<CustomObject> {
    try {
      return (await write()) as CustomObject;
    } catch (error) {
      if (isConflict(error)) throw new TransientError('the object changed since it was read; reconciling again');
      throw error;
    }
  }
}
