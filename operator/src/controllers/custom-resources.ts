/**
 * Reads and writes of Shipway's custom resources through client-node's CustomObjectsApi: status as a JSON
 * patch on the status subresource, metadata (finalizers, action annotations) as a merge patch of the
 * object. Both carry the resourceVersion the controller read, so a write based on a stale read fails
 * (409, or 422 for the JSON patch's failed test) instead of undoing someone else's change.
 */
import { ApiException, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { isConflict, isNotFound } from '../kubernetes/api-errors.ts';
import { API_GROUP, API_VERSION } from '../api/common.ts';
import { TransientError } from '../runtime/errors.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- custom resources are checked by their schemas
export type CustomObject = { apiVersion: string; kind: string; metadata: Record<string, any>; spec: any; status?: any };

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

/** A resourceVersion test, then the operations that turn the stored status into `status`. */
export function statusPatch(object: CustomObject, status: unknown): Operation[] {
  return [
    { op: 'test', path: '/metadata/resourceVersion', value: object.metadata.resourceVersion },
    ...compare(object.status === undefined ? {} : { status: object.status }, { status }),
  ];
}


const { compare } = fastJsonPatch;


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

  /**
   * The status as a JSON patch computed from the status read (fast-json-patch): unlike a merge patch it
   * removes the fields the controller dropped. Its first operation tests the resourceVersion read.
   */
  async patchStatus(object: CustomObject, status: unknown): Promise<CustomObject> {
    const operations = statusPatch(object, status);
    if (operations.length === 1) return object;
    try {
      return (await this.api.patchNamespacedCustomObjectStatus(
        { group: API_GROUP, version: API_VERSION, namespace: object.metadata.namespace, plural: this.plural, name: object.metadata.name, body: operations },
        jsonPatch,
      )) as CustomObject;
    } catch (error) {
      // A failed test answers 422 with no detail, like an invalid status: the resourceVersion tells them apart.
      if (error instanceof ApiException && error.code === 422) {
        const current = await this.get(object.metadata.namespace, object.metadata.name);
        if (current?.metadata.resourceVersion !== object.metadata.resourceVersion) throw new TransientError('the object changed since it was read; reconciling again');
      }
      throw error;
    }
  }

  async patchMetadata(object: CustomObject, metadata: Record<string, unknown>): Promise<CustomObject> {
    return this.guard(() =>
      this.api.patchNamespacedCustomObject(
        { group: API_GROUP, version: API_VERSION, namespace: object.metadata.namespace, plural: this.plural, name: object.metadata.name, body: { metadata: { ...metadata, resourceVersion: object.metadata.resourceVersion } } },
        mergePatch,
      ),
    );
  }

  /** Creates the object; one of that name already there counts as created (a repeated pass creates it once). */
  async createOnce(namespace: string, body: Record<string, unknown>): Promise<'created' | 'exists'> {
    try {
      await this.api.createNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: this.plural, body });
      return 'created';
    } catch (error) {
      if (error instanceof ApiException && error.code === 409) return 'exists';
      throw error;
    }
  }

  async list(namespace: string): Promise<CustomObject[]> {
    const list = (await this.api.listNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: this.plural })) as { items?: CustomObject[] };
    return list.items ?? [];
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
