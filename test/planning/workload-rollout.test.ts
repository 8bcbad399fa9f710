import { describe, expect, it } from 'vitest';
import { imageTag, rollbackPatch, rollbackTarget, rolloutState, setImagePatch, withTag, WorkloadError } from '../../operator/src/planning/workload-rollout.ts';

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
