import { describe, expect, it } from 'vitest';
import { listRulesFor, strategicMergeKeys } from '../../kube-api/patch/index.ts';

const rule = (group: string, kind: string, path: string) => listRulesFor({ group, kind })(path.split('.'));

describe('strategic merge keys', () => {
  it.each([
    ['apps', 'Deployment', 'spec.template.spec.containers', { type: 'map', key: 'name' }],
    ['apps', 'Deployment', 'spec.template.spec.containers.env', { type: 'map', key: 'name' }],
    ['apps', 'Deployment', 'spec.template.spec.initContainers.ports', { type: 'map', key: 'containerPort' }],
    ['apps', 'Deployment', 'spec.template.spec.containers.volumeMounts', { type: 'map', key: 'mountPath' }],
    ['apps', 'Deployment', 'spec.template.spec.containers.envFrom', { type: 'atomic' }],
    ['apps', 'Deployment', 'spec.template.spec.tolerations', { type: 'atomic' }],
    ['apps', 'Deployment', 'spec.template.spec.volumes', { type: 'map', key: 'name' }],
    ['apps', 'Deployment', 'spec.template.spec.imagePullSecrets', { type: 'map', key: 'name' }],
    ['apps', 'Deployment', 'status.conditions', { type: 'map', key: 'type' }],
    ['apps', 'StatefulSet', 'spec.template.spec.containers', { type: 'map', key: 'name' }],
    ['apps', 'DaemonSet', 'spec.template.metadata.finalizers', { type: 'set' }],
    ['batch', 'Job', 'spec.template.spec.containers', { type: 'map', key: 'name' }],
    ['batch', 'CronJob', 'spec.jobTemplate.spec.template.spec.containers.env', { type: 'map', key: 'name' }],
    ['', 'Pod', 'spec.containers', { type: 'map', key: 'name' }],
    ['', 'Pod', 'status.conditions', { type: 'map', key: 'type' }],
    ['', 'Service', 'spec.ports', { type: 'map', key: 'port' }],
    ['', 'Namespace', 'status.conditions', { type: 'map', key: 'type' }],
    ['', 'Endpoints', 'subsets', { type: 'atomic' }],
    ['', 'ConfigMap', 'metadata.ownerReferences', { type: 'map', key: 'uid' }],
    ['events.k8s.io', 'Event', 'metadata.finalizers', { type: 'set' }],
  ])('%s %s %s merges as %j', (group, kind, path, expected) => {
    expect(rule(group, kind, path)).toEqual(expected);
  });

  it('gives a custom resource that reuses a built-in kind name only the ObjectMeta rules', () => {
    expect(rule('example.com', 'Deployment', 'spec.template.spec.containers')).toEqual({ type: 'atomic' });
    expect(rule('example.com', 'Deployment', 'metadata.finalizers')).toEqual({ type: 'set' });
  });

  it('covers every kind the emulator serves with strategic merge', () => {
    expect(Object.keys(strategicMergeKeys)).toEqual(
      expect.arrayContaining(['*', 'Pod', 'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Service', 'ConfigMap', 'Secret', 'Namespace', 'Event']),
    );
  });
});
