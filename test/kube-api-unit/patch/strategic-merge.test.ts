import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../kube-api/patch/index.ts';
import { containers, deployment, deploymentOptions, patched, patchError, widgetOptions } from './fixtures.ts';

const SMP = 'application/strategic-merge-patch+json' as const;
const podSpec = (spec: Record<string, unknown>) => ({ spec: { template: { spec } } });
const names = (list: KubeObject[]) => list.map((c) => c.name as string);

describe('strategic merge patch on a Deployment', () => {
  it.each([
    {
      name: "changing one container's image keeps the other containers and the container's other fields",
      patch: podSpec({ containers: [{ name: 'sidecar', image: 'shop/proxy:2.2' }] }),
      check: (o: KubeObject) => {
        expect(containers(o)).toEqual([deployment().spec.template.spec.containers[0], { name: 'sidecar', image: 'shop/proxy:2.2' }]);
      },
    },
    {
      name: 'a container with a new name is appended',
      patch: podSpec({ containers: [{ name: 'debug', image: 'busybox' }] }),
      check: (o: KubeObject) => expect(names(containers(o))).toEqual(['app', 'sidecar', 'debug']),
    },
    {
      name: '$patch: delete removes the container with that name',
      patch: podSpec({ containers: [{ name: 'sidecar', $patch: 'delete' }] }),
      check: (o: KubeObject) => expect(names(containers(o))).toEqual(['app']),
    },
    {
      name: '$patch: replace as a list item replaces the whole list',
      patch: podSpec({ containers: [{ name: 'only', image: 'x' }, { $patch: 'replace' }] }),
      check: (o: KubeObject) => expect(containers(o)).toEqual([{ name: 'only', image: 'x' }]),
    },
    {
      name: '$patch: replace in a map replaces the map',
      patch: { spec: { selector: { $patch: 'replace', matchLabels: { tier: 'front' } } } },
      check: (o: KubeObject) => expect(o.spec.selector).toEqual({ matchLabels: { tier: 'front' } }),
    },
    {
      name: '$patch: delete in a map removes the map',
      patch: { spec: { strategy: { rollingUpdate: { $patch: 'delete' } } } },
      check: (o: KubeObject) => expect(o.spec.strategy).toEqual({ type: 'RollingUpdate' }),
    },
    {
      name: 'env merges by name: a changed value, a new variable appended, one deleted',
      patch: podSpec({ containers: [{ name: 'app', env: [{ name: 'LOG', value: 'debug' }, { name: 'NEW', value: '1' }, { name: 'MODE', $patch: 'delete' }] }] }),
      check: (o: KubeObject) => expect(containers(o)[0]!.env).toEqual([{ name: 'LOG', value: 'debug' }, { name: 'NEW', value: '1' }]),
    },
    {
      name: 'ports merge by containerPort and volumeMounts by mountPath',
      patch: podSpec({ containers: [{ name: 'app', ports: [{ containerPort: 8080, name: 'http' }, { containerPort: 9090 }], volumeMounts: [{ mountPath: '/data', name: 'data' }] }] }),
      check: (o: KubeObject) => {
        expect(containers(o)[0]!.ports).toEqual([{ containerPort: 8080, name: 'http' }, { containerPort: 9090 }]);
        expect(containers(o)[0]!.volumeMounts).toEqual([{ mountPath: '/data', name: 'data' }]);
      },
    },
    {
      name: 'lists without a merge key, like tolerations, are replaced',
      patch: podSpec({ tolerations: [{ key: 'spot', operator: 'Exists' }] }),
      check: (o: KubeObject) => expect(o.spec.template.spec.tolerations).toEqual([{ key: 'spot', operator: 'Exists' }]),
    },
    {
      name: 'envFrom has no merge key and is replaced',
      patch: podSpec({ containers: [{ name: 'app', envFrom: [{ configMapRef: { name: 'b' } }] }] }),
      check: (o: KubeObject) => expect(containers(o)[0]!.envFrom).toEqual([{ configMapRef: { name: 'b' } }]),
    },
    {
      name: 'null deletes a field, as in a merge patch',
      patch: { metadata: { labels: { app: null } }, spec: { strategy: null } },
      check: (o: KubeObject) => expect([o.metadata.labels, o.spec.strategy]).toEqual([{}, undefined]),
    },
    {
      name: 'metadata.resourceVersion in the patch is kept for the caller',
      patch: { metadata: { resourceVersion: '6' }, spec: { replicas: 3 } },
      check: (o: KubeObject) => expect([o.metadata.resourceVersion, o.spec.replicas]).toEqual(['6', 3]),
    },
  ])('$name', ({ patch, check }) => {
    check(patched(deployment(), SMP, patch, deploymentOptions()));
  });

  describe('$setElementOrder', () => {
    it('reorders the containers as the directive lists them', () => {
      const o = patched(deployment(), SMP, podSpec({ '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'app' }] }), deploymentOptions());
      expect(names(containers(o))).toEqual(['sidecar', 'app']);
    });

    it('places a patched new item where the directive says, as kubectl apply sends it', () => {
      const patch = podSpec({ '$setElementOrder/containers': [{ name: 'init' }, { name: 'app' }, { name: 'sidecar' }], containers: [{ name: 'init', image: 'i' }] });
      expect(names(containers(patched(deployment(), SMP, patch, deploymentOptions())))).toEqual(['init', 'app', 'sidecar']);
    });

    it('keeps items the directive does not name where they were relative to the live list', () => {
      const live = deployment({ containers: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] });
      const o = patched(live, SMP, podSpec({ '$setElementOrder/containers': [{ name: 'c' }, { name: 'a' }] }), deploymentOptions());
      expect(names(containers(o))).toEqual(['b', 'c', 'a']);
    });

    it('orders env variables inside a container item', () => {
      const patch = podSpec({ containers: [{ name: 'app', '$setElementOrder/env': [{ name: 'LOG' }, { name: 'MODE' }] }] });
      expect(containers(patched(deployment(), SMP, patch, deploymentOptions()))[0]!.env.map((e: { name: string }) => e.name)).toEqual(['LOG', 'MODE']);
    });
  });

  describe('$retainKeys', () => {
    it('clears the keys it does not list, as kubectl sends when switching the strategy to Recreate', () => {
      const o = patched(deployment(), SMP, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }, deploymentOptions());
      expect(o.spec.strategy).toEqual({ type: 'Recreate' });
    });

    it('answers 422 when the patch sets a key it does not list', () => {
      const error = patchError(() => patched(deployment(), SMP, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: {} } } }, deploymentOptions()));
      expect(error).toMatchObject({ code: 422, reason: 'Invalid', message: 'the server rejected our request due to an error in our request' });
      expect((error.cause as Error).message).toBe("patch content doesn't match retainKeys list");
    });
  });

  describe('finalizers, a merge set of strings', () => {
    it.each([
      { name: 'adds without duplicating', patch: { metadata: { finalizers: ['b', 'c'] } }, expected: ['a', 'b', 'c'] },
      { name: '$deleteFromPrimitiveList removes', patch: { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }, expected: ['b'] },
      { name: 'deletes and adds in one patch', patch: { metadata: { '$deleteFromPrimitiveList/finalizers': ['b'], finalizers: ['z'] } }, expected: ['a', 'z'] },
      { name: '$setElementOrder reorders', patch: { metadata: { '$setElementOrder/finalizers': ['b', 'a'] } }, expected: ['b', 'a'] },
      { name: 'null removes them all', patch: { metadata: { finalizers: null } }, expected: undefined },
    ])('$name', ({ patch, expected }) => {
      expect(patched(deployment({ finalizers: ['a', 'b'] }), SMP, patch, deploymentOptions()).metadata.finalizers).toEqual(expected);
    });
  });

  it('merges ownerReferences by uid', () => {
    const live = { ...deployment(), metadata: { ...deployment().metadata, ownerReferences: [{ uid: 'u1', name: 'a', kind: 'X' }] } };
    const o = patched(live, SMP, { metadata: { ownerReferences: [{ uid: 'u1', controller: true }, { uid: 'u2', name: 'b', kind: 'Y' }] } }, deploymentOptions());
    expect(o.metadata.ownerReferences).toEqual([{ uid: 'u1', name: 'a', kind: 'X', controller: true }, { uid: 'u2', name: 'b', kind: 'Y' }]);
  });

  it('merges status conditions by type', () => {
    const live = { ...deployment(), status: { conditions: [{ type: 'Available', status: 'False' }, { type: 'Progressing', status: 'True' }] } };
    const o = patched(live, SMP, { status: { conditions: [{ type: 'Available', status: 'True' }] } }, deploymentOptions());
    expect(o.status.conditions).toEqual([{ type: 'Available', status: 'True' }, { type: 'Progressing', status: 'True' }]);
  });

  it.each([
    { name: 'a list item without its merge key', patch: podSpec({ containers: [{ image: 'x' }] }), message: 'map: map[image:x] does not contain declared merge key: name' },
    { name: 'a list item that is not a map', patch: podSpec({ containers: ['app'] }), message: 'expected a map, but received a string' },
    { name: 'an unknown $patch directive', patch: { spec: { $patch: 'explode' } }, message: 'unknown patch type: explode in map: map[$patch:explode]' },
    { name: '$retainKeys that is not a list of strings', patch: { spec: { strategy: { $retainKeys: 'type' } } }, message: 'invalid patch format of retainKeys' },
    { name: '$setElementOrder that is not a list', patch: podSpec({ '$setElementOrder/containers': 'app' }), message: 'invalid patch format of setElementOrder list' },
    { name: '$deleteFromPrimitiveList that is not a list', patch: { metadata: { '$deleteFromPrimitiveList/finalizers': 'a' } }, message: 'invalid patch format of primitive list' },
    { name: 'a JSON list instead of an object', patch: [{ op: 'add' }], message: 'json: cannot unmarshal array into Go value of type map[string]interface {}' },
  ])('answers 400 BadRequest to $name', ({ patch, message }) => {
    expect(patchError(() => patched(deployment(), SMP, patch, deploymentOptions()))).toMatchObject({ code: 400, reason: 'BadRequest', message });
  });

  it('answers 422 to a list of lists in a merging list', () => {
    expect(patchError(() => patched(deployment(), SMP, { metadata: { finalizers: [['a']] } }, deploymentOptions()))).toMatchObject({ code: 422, reason: 'Invalid' });
  });
});

describe('strategic merge patch on other kinds', () => {
  it('merges Service ports by port', () => {
    const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443, targetPort: 8443 }] } };
    const o = patched(service, SMP, { spec: { ports: [{ port: 80, targetPort: 9090 }] } }, { strategicMergeAllowed: true, gvk: { group: '', version: 'v1', kind: 'Service' } });
    expect(o.spec.ports).toEqual([{ port: 80, targetPort: 9090 }, { port: 443, targetPort: 8443 }]);
  });

  it('merges ConfigMap data as a map', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1', b: '2' } };
    const o = patched(cm, SMP, { data: { b: null, c: '3' } }, { strategicMergeAllowed: true, gvk: { group: '', version: 'v1', kind: 'ConfigMap' } });
    expect(o.data).toEqual({ a: '1', c: '3' });
  });

  it('merges a Pod spec containers by name', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] } };
    const o = patched(pod, SMP, { spec: { containers: [{ name: 'b', image: 'z' }] } }, { strategicMergeAllowed: true, gvk: { group: '', version: 'v1', kind: 'Pod' } });
    expect(o.spec.containers).toEqual([{ name: 'a', image: 'x' }, { name: 'b', image: 'z' }]);
  });

  it('answers 415 for a custom resource, with the types a custom resource accepts', () => {
    const widget = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } };
    expect(patchError(() => patched(widget, SMP, { spec: {} }, widgetOptions()))).toMatchObject({
      code: 415,
      reason: 'UnsupportedMediaType',
      message: 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
    });
  });
});
