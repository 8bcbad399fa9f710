/** Objects and helpers shared by the patch engine's tests. */
import { expect } from 'vitest';
import { applyPatch, PatchError, type KubeObject, type PatchOptions, type PatchType } from '../../kube-api/patch/index.ts';

export const DEPLOYMENT_GVK = { group: 'apps', version: 'v1', kind: 'Deployment' };
export const WIDGET_GVK = { group: 'example.com', version: 'v1', kind: 'Widget' };

export const T0 = '2024-05-01T10:00:00Z';
export const T1 = '2024-05-01T11:00:00Z';

export function deployment(overrides: { containers?: KubeObject[]; finalizers?: string[] } = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: 'uid-1',
      resourceVersion: '7',
      labels: { app: 'web' },
      ...(overrides.finalizers ? { finalizers: overrides.finalizers } : {}),
    },
    spec: {
      replicas: 2,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: overrides.containers ?? [
            { name: 'app', image: 'shop/app:1.0', env: [{ name: 'MODE', value: 'prod' }, { name: 'LOG', value: 'info' }], ports: [{ containerPort: 8080 }] },
            { name: 'sidecar', image: 'shop/proxy:2.1' },
          ],
          tolerations: [{ key: 'dedicated', operator: 'Exists' }],
        },
      },
    },
  };
}

export const containers = (object: KubeObject): KubeObject[] => object.spec.template.spec.containers;

export const deploymentOptions = (extra: Partial<PatchOptions> = {}): PatchOptions => ({
  strategicMergeAllowed: true,
  gvk: DEPLOYMENT_GVK,
  now: () => T0,
  ...extra,
});

export const widgetOptions = (extra: Partial<PatchOptions> = {}): PatchOptions => ({
  strategicMergeAllowed: false,
  gvk: WIDGET_GVK,
  now: () => T0,
  ...extra,
});

export function patchError(run: () => unknown): PatchError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PatchError);
    return error as PatchError;
  }
  throw new Error('expected a PatchError, but the patch succeeded');
}

/** Applies a patch and checks the inputs were left alone. */
export function patched(current: KubeObject | undefined, type: PatchType, body: unknown, options: PatchOptions): KubeObject {
  const before = structuredClone(current);
  const result = applyPatch(current, type, typeof body === 'string' ? body : JSON.stringify(body), options);
  expect(current).toEqual(before);
  return result;
}
