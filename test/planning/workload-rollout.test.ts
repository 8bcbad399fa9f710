import { describe, expect, it } from 'vitest';
import {
  imageChanges,
  imagesOf,
  imageTag,
  prunableHistory,
  rollbackAnnotations,
  rollbackPatch,
  rollbackRevision,
  rollbackTarget,
  rolloutState,
  sameJson,
  setImagePatch,
  setImagesPatch,
  variantDeployment,
  withTag,
  WorkloadError,
} from '../../operator/src/planning/workload-rollout.ts';

const deployment = (status: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  kind: 'Deployment',
  metadata: { name: 'web', generation: 2, uid: 'd1', annotations: { 'deployment.kubernetes.io/revision': '3' } },
  spec: { replicas: 3, template: { spec: { containers: [{ name: 'web', image: 'r/web:1.0' }] } } },
  status: { observedGeneration: 2, ...status },
  ...extra,
});

describe('rolloutState', () => {
  it.each([
    ['a spec change not yet observed', { ...deployment({}), status: { observedGeneration: 1 } }, 'progressing', 'spec update to be observed'],
    ['too few updated replicas', deployment({ updatedReplicas: 1, replicas: 3, availableReplicas: 1 }), 'progressing', '1 out of 3 new replicas have been updated'],
    ['old replicas still there', deployment({ updatedReplicas: 3, replicas: 4, availableReplicas: 3 }), 'progressing', '1 old replicas are pending termination'],
    ['updated but not available', deployment({ updatedReplicas: 3, replicas: 3, availableReplicas: 2 }), 'progressing', '2 of 3 updated replicas are available'],
    ['everything rolled out', deployment({ updatedReplicas: 3, replicas: 3, availableReplicas: 3 }), 'done', 'successfully rolled out'],
    ['the progress deadline passed', deployment({ updatedReplicas: 1, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] }), 'failed', 'exceeded its progress deadline'],
    ['a StatefulSet waiting for pods', { kind: 'StatefulSet', metadata: { name: 's', generation: 1 }, spec: { replicas: 2 }, status: { observedGeneration: 1, readyReplicas: 1 } }, 'progressing', 'Waiting for 1 pods to be ready'],
    ['a StatefulSet mid-update', { kind: 'StatefulSet', metadata: { name: 's', generation: 1 }, spec: { replicas: 2 }, status: { observedGeneration: 1, readyReplicas: 2, currentRevision: 's-a', updateRevision: 's-b', updatedReplicas: 1 } }, 'progressing', 'rolling update to complete'],
    ['a StatefulSet done', { kind: 'StatefulSet', metadata: { name: 's', generation: 1 }, spec: { replicas: 2 }, status: { observedGeneration: 1, readyReplicas: 2, currentRevision: 's-b', updateRevision: 's-b', currentReplicas: 2 } }, 'done', 'rolling update complete'],
    ['a DaemonSet updating', { kind: 'DaemonSet', metadata: { name: 'd', generation: 1 }, status: { observedGeneration: 1, desiredNumberScheduled: 1, updatedNumberScheduled: 0 } }, 'progressing', '0 out of 1 new pods'],
    ['a DaemonSet done', { kind: 'DaemonSet', metadata: { name: 'd', generation: 1 }, status: { observedGeneration: 1, desiredNumberScheduled: 1, updatedNumberScheduled: 1, numberAvailable: 1 } }, 'done', 'successfully rolled out'],
  ])('%s', (_name, workload, state, message) => {
    const result = rolloutState(workload);
    expect(result.state).toBe(state);
    expect(result.message).toContain(message);
  });
});

describe('images', () => {
  it.each([
    ['r/web:1.0', '1.0'],
    ['registry.local:5000/shop/web:2.1.0-rc1', '2.1.0-rc1'],
    ['registry.local:5000/shop/web', undefined],
    ['web@sha256:abc', undefined],
  ])('the tag of %s is %s', (image, tag) => expect(imageTag(image)).toBe(tag));

  it.each([
    ['r/web:1.0', '2.0', 'r/web:2.0'],
    ['registry.local:5000/shop/web', '1.1', 'registry.local:5000/shop/web:1.1'],
    ['web@sha256:abc', '3', 'web:3'],
  ])('%s with tag %s is %s', (image, tag, expected) => expect(withTag(image, tag)).toBe(expected));

  it('sets one container image with a strategic merge patch keyed by name', () => {
    expect(setImagePatch('web', 'r/web:2', { 'shipway.dev/release': 'r1' })).toEqual({
      metadata: { annotations: { 'shipway.dev/release': 'r1' } },
      spec: { template: { spec: { containers: [{ name: 'web', image: 'r/web:2' }] } } },
    });
  });
});

describe('rollbackTarget', () => {
  const rs = (name: string, revision: number, uid = 'd1') => ({
    metadata: { name, annotations: { 'deployment.kubernetes.io/revision': String(revision) }, ownerReferences: [{ uid, controller: true }] },
    spec: { template: { metadata: { labels: { app: 'web', 'pod-template-hash': 'h' } }, spec: { containers: [{ name: 'web', image: `r/web:${revision}` }] } } },
  });

  it('picks the newest revision before the current one, among ReplicaSets the Deployment controls', () => {
    const target = rollbackTarget(deployment({}), [rs('a', 1), rs('b', 2), rs('c', 3), rs('x', 2, 'other')]);
    expect(target.metadata.name).toBe('b');
  });

  it('picks an explicit revision', () => {
    expect(rollbackTarget(deployment({}), [rs('a', 1), rs('b', 2), rs('c', 3)], 1).metadata.name).toBe('a');
  });

  it.each([
    ['no history at all', [], undefined, 'no rollout history found'],
    ['nothing before the current revision', [rs('c', 3)], undefined, 'no previous revision'],
    ['an unknown revision', [rs('a', 1), rs('c', 3)], 7, 'unable to find specified revision 7'],
  ])('refuses when there is %s', (_name, sets, revision, message) => {
    expect(() => rollbackTarget(deployment({}), sets, revision)).toThrow(WorkloadError);
    expect(() => rollbackTarget(deployment({}), sets, revision)).toThrow(message);
  });

  it('patches the old template back without its pod-template-hash label', () => {
    expect(rollbackPatch(rs('a', 1))).toEqual([{ op: 'replace', path: '/spec/template', value: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'r/web:1' }] } } }]);
  });
});

describe('setting several images', () => {
  const workload = { kind: 'Deployment', metadata: { name: 'web' }, spec: { template: { spec: { containers: [{ name: 'web', image: 'r/web:1' }, { name: 'sidecar', image: 'r/proxy:7' }] } } } };

  it('reads the images per container', () => expect(imagesOf(workload)).toEqual({ web: 'r/web:1', sidecar: 'r/proxy:7' }));

  it.each([
    ['a change without a container goes to the first', [{ image: 'r/web:2' }], undefined, { web: 'r/web:2' }],
    ["a change without a container goes to the Target's container", [{ image: 'r/proxy:8' }], 'sidecar', { sidecar: 'r/proxy:8' }],
    ['a named container', [{ container: 'sidecar', image: 'r/proxy:8' }, { image: 'r/web:2' }], undefined, { sidecar: 'r/proxy:8', web: 'r/web:2' }],
  ])('%s', (_name, changes, defaultContainer, expected) => expect(imageChanges(workload, changes, defaultContainer)).toEqual(expected));

  it('refuses a container the workload does not have', () => {
    expect(() => imageChanges(workload, [{ container: 'db', image: 'pg:16' }])).toThrow('container "db" not found in Deployment/web');
  });

  it('patches all of them in one strategic merge patch keyed by name', () => {
    expect(setImagesPatch({ web: 'r/web:2', sidecar: 'r/proxy:8' }, { 'kubernetes.io/change-cause': 'release 2' })).toEqual({
      metadata: { annotations: { 'kubernetes.io/change-cause': 'release 2' } },
      spec: { template: { spec: { containers: [{ name: 'web', image: 'r/web:2' }, { name: 'sidecar', image: 'r/proxy:8' }] } } },
    });
  });
});

describe('rollbackAnnotations', () => {
  it("keeps the Deployment's bookkeeping and takes the rest from the ReplicaSet, as kubectl rollout undo does", () => {
    const d = { metadata: { annotations: { 'deployment.kubernetes.io/revision': '3', 'kubernetes.io/change-cause': 'release 3', team: 'shop' } } };
    const rs = { metadata: { annotations: { 'deployment.kubernetes.io/revision': '2', 'deployment.kubernetes.io/desired-replicas': '3', 'kubernetes.io/change-cause': 'release 2' } } };
    expect(rollbackAnnotations(d, rs)).toEqual({ 'deployment.kubernetes.io/revision': '3', 'kubernetes.io/change-cause': 'release 2' });
  });
});

describe('rollbackRevision', () => {
  const set = { kind: 'StatefulSet', metadata: { name: 'db', uid: 's1' } };
  const revision = (name: string, number: number, uid = 's1') => ({ metadata: { name, ownerReferences: [{ uid, controller: true }] }, revision: number, data: {} });

  it('picks the second newest revision the workload controls', () => {
    expect(rollbackRevision(set, [revision('c', 5), revision('a', 1), revision('b', 3), revision('x', 4, 'other')]).metadata.name).toBe('b');
  });

  it('picks an explicit revision', () => expect(rollbackRevision(set, [revision('a', 1), revision('b', 2)], 1).metadata.name).toBe('a'));

  it.each([
    ['a single revision', [revision('a', 1)], undefined, 'no last revision to roll back to for statefulset "db"'],
    ['an unknown revision', [revision('a', 1), revision('b', 2)], 9, 'unable to find specified revision 9'],
  ])('refuses %s', (_name, revisions, to, message) => expect(() => rollbackRevision(set, revisions, to)).toThrow(message));
});

describe('prunableHistory', () => {
  const entry = (name: string, revision: number, live = false) => ({ name, revision, live });

  it.each([
    ['keeps the newest N and deletes the rest, oldest first', [entry('a', 1), entry('b', 2), entry('c', 3), entry('d', 4, true)], 2, ['a', 'b']],
    ['never deletes a live revision', [entry('a', 1, true), entry('b', 2), entry('c', 3, true)], 0, ['b']],
    ['deletes nothing when there are no more than N', [entry('a', 1), entry('b', 2, true)], 5, []],
  ])('%s', (_name, entries, keep, expected) => expect(prunableHistory(entries, keep)).toEqual(expected));
});

describe('sameJson', () => {
  it.each([
    ['key order', { a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 }, true],
    ['absent versus null or undefined', { a: 1, b: undefined, c: null }, { a: 1 }, true],
    ['a different value', { a: 1 }, { a: 2 }, false],
    ['array order', { a: [1, 2] }, { a: [2, 1] }, false],
  ])('%s', (_name, a, b, same) => expect(sameJson(a, b)).toBe(same));
});

describe('variantDeployment', () => {
  const main = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', uid: 'u1', resourceVersion: '9', labels: { app: 'web' }, annotations: { 'deployment.kubernetes.io/revision': '4' } },
    spec: {
      replicas: 4,
      progressDeadlineSeconds: 60,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' }, creationTimestamp: null }, spec: { containers: [{ name: 'web', image: 'r/web:1' }, { name: 'sidecar', image: 'r/proxy:7' }] } },
    },
    status: { replicas: 4 },
  };

  it('copies the pod template under a new name with extra selector and pod labels and the new images', () => {
    expect(variantDeployment(main, { name: 'web-green', labels: { 'shipway.dev/color': 'green' }, replicas: 4, images: { web: 'r/web:2' } })).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web-green', namespace: 'shop', labels: { app: 'web', 'shipway.dev/color': 'green' } },
      spec: {
        progressDeadlineSeconds: 60,
        replicas: 4,
        selector: { matchLabels: { app: 'web', 'shipway.dev/color': 'green' } },
        template: { metadata: { labels: { app: 'web', 'shipway.dev/color': 'green' } }, spec: { containers: [{ name: 'web', image: 'r/web:2' }, { name: 'sidecar', image: 'r/proxy:7' }] } },
      },
    });
  });

  it('leaves the main Deployment untouched', () => {
    const before = structuredClone(main);
    variantDeployment(main, { name: 'web-canary', labels: { x: 'y' }, replicas: 1, images: { web: 'r/web:2' } });
    expect(main).toEqual(before);
  });
});
