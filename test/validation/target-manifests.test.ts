import { describe, expect, it } from 'vitest';
import { dockerTarget, kubernetesTarget, REMOVE, scriptTarget, valueAt, type Manifest } from '../fixtures/manifests.ts';
import { expectSingleIssue, validateChanged, validator, type InvalidCase } from './invalid-case.ts';

describe('valid Target manifests', () => {
  it.each<[string, Manifest]>([
    ['a kubernetes workload', kubernetesTarget],
    ['a docker host with an agent', dockerTarget],
    ['a script host with an agent', scriptTarget],
  ])('accepts %s', (_name, manifest) => {
    const result = validator.validate(manifest);
    expect(result.issues).toEqual([]);
    expect(result).toMatchObject({ foreign: false, kind: 'Target', name: manifest.metadata.name });
    expect(result.object).toBeDefined();
  });

  it('applies the defaults: priority 0 and workload kind Deployment', () => {
    const result = validator.validate(kubernetesTarget);
    expect(valueAt(result.object, 'spec.priority')).toBe(0);
    expect(valueAt(result.object, 'spec.kubernetes.kind')).toBe('Deployment');
  });

  it('keeps values that are set instead of the defaults', () => {
    const result = validator.validate(dockerTarget);
    expect(valueAt(result.object, 'spec.priority')).toBe(10);
  });

  it('leaves the input object untouched when applying defaults', () => {
    const input = structuredClone(kubernetesTarget);
    validator.validate(input);
    expect(input).toEqual(kubernetesTarget);
  });

  it('accepts a status with a phase and installations', () => {
    const result = validator.validate({
      ...kubernetesTarget,
      status: {
        phase: 'Online',
        lastSeenAt: '2026-01-31T10:00:00Z',
        installations: [{ app: 'web', version: '1.4.2', state: 'installed' }],
      },
    });
    expect(result.issues).toEqual([]);
  });
});

const cases: InvalidCase[] = [
  // Enums
  { name: 'an unknown target type', base: kubernetesTarget, changes: { 'spec.type': 'vm' }, path: 'spec.type', reason: 'Unsupported value: "vm": supported values: "kubernetes", "docker", "script", "gitpull"' },
  { name: 'an unknown workload kind', base: kubernetesTarget, changes: { 'spec.kubernetes.kind': 'ReplicaSet' }, path: 'spec.kubernetes.kind', reason: 'Unsupported value: "ReplicaSet"' },
  { name: 'an unknown status phase', base: kubernetesTarget, changes: { status: { phase: 'Dead' } }, path: 'status.phase', reason: 'Unsupported value: "Dead"' },
  { name: 'an unknown installation state', base: kubernetesTarget, changes: { status: { installations: [{ app: 'web', state: 'gone' }] } }, path: 'status.installations[0].state', reason: 'Unsupported value: "gone"' },
  // Required fields
  { name: 'no environment', base: kubernetesTarget, changes: { 'spec.environment': REMOVE }, path: 'spec.environment', reason: 'Required value' },
  { name: 'no type', base: dockerTarget, changes: { 'spec.type': REMOVE }, path: 'spec.type', reason: 'Required value' },
  { name: 'no workload name', base: kubernetesTarget, changes: { 'spec.kubernetes.name': REMOVE }, path: 'spec.kubernetes.name', reason: 'Required value' },
  { name: 'a kubeconfig Secret reference without a key', base: kubernetesTarget, changes: { 'spec.kubernetes.kubeconfigSecretRef': { name: 'remote' } }, path: 'spec.kubernetes.kubeconfigSecretRef.key', reason: 'Required value' },
  { name: 'no spec', base: kubernetesTarget, changes: { spec: REMOVE }, path: 'spec', reason: 'Required value' },
  { name: 'neither name nor generateName', base: kubernetesTarget, changes: { 'metadata.name': REMOVE }, path: 'metadata.name', reason: 'name or generateName is required' },
  // Types
  { name: 'a priority given as a string', base: kubernetesTarget, changes: { 'spec.priority': '5' }, path: 'spec.priority', reason: 'Invalid value: "5": must be an integer' },
  { name: 'a fractional priority', base: kubernetesTarget, changes: { 'spec.priority': 1.5 }, path: 'spec.priority', reason: 'must be an integer' },
  { name: 'a kubernetes block that is a string', base: kubernetesTarget, changes: { 'spec.kubernetes': 'web' }, path: 'spec.kubernetes', reason: 'must be of type object' },
  // Patterns and lengths
  { name: 'an environment that is not an RFC 1123 label', base: kubernetesTarget, changes: { 'spec.environment': 'Pre_Prod' }, path: 'spec.environment', reason: 'Invalid value: "Pre_Prod": must be a lowercase RFC 1123 label' },
  { name: 'an object name with capitals', base: kubernetesTarget, changes: { 'metadata.name': 'Web-1' }, path: 'metadata.name', reason: 'must be a lowercase RFC 1123 subdomain' },
  { name: 'a namespace longer than 63 characters', base: kubernetesTarget, changes: { 'spec.kubernetes.namespace': 'n'.repeat(64) }, path: 'spec.kubernetes.namespace', reason: 'Too long: must have at most 63 characters' },
  { name: 'a docker engine address with an http scheme', base: dockerTarget, changes: { 'spec.docker.host': 'http://docker:2375' }, path: 'spec.docker.host', reason: 'Invalid value: "http://docker:2375"' },
  { name: 'a relative work directory', base: scriptTarget, changes: { 'spec.script.workDir': 'opt/apps' }, path: 'spec.script.workDir', reason: 'must be an absolute path' },
  { name: 'an empty host', base: dockerTarget, changes: { 'spec.host': '' }, path: 'spec.host', reason: 'must be at least 1 characters long' },
  { name: 'a lastSeenAt that is not a date-time', base: kubernetesTarget, changes: { status: { lastSeenAt: 'yesterday' } }, path: 'status.lastSeenAt', reason: 'must be an RFC 3339 date-time' },
  // Minimum and maximum
  { name: 'a negative priority', base: kubernetesTarget, changes: { 'spec.priority': -1 }, path: 'spec.priority', reason: 'Invalid value: -1: must be >= 0' },
  { name: 'a priority above 10000', base: kubernetesTarget, changes: { 'spec.priority': 10001 }, path: 'spec.priority', reason: 'Invalid value: 10001: must be <= 10000' },
  // Unknown fields
  { name: 'an unknown spec field', base: kubernetesTarget, changes: { 'spec.region': 'eu' }, path: 'spec.region', reason: 'unknown field "spec.region"' },
  { name: 'an unknown field in the kubernetes block', base: kubernetesTarget, changes: { 'spec.kubernetes.replicas': 3 }, path: 'spec.kubernetes.replicas', reason: 'unknown field "spec.kubernetes.replicas"' },
  { name: 'an unknown top-level field', base: kubernetesTarget, changes: { data: {} }, path: 'data', reason: 'unknown field "data"' },
  // Identification
  { name: 'an unsupported version of the API group', base: kubernetesTarget, changes: { apiVersion: 'shipway.dev/v1' }, path: 'apiVersion', reason: 'Unsupported value: "shipway.dev/v1": supported values: "shipway.dev/v1alpha1"' },
  { name: 'an unknown kind in the API group', base: kubernetesTarget, changes: { kind: 'Cluster' }, path: 'kind', reason: 'Unsupported value: "Cluster": supported values: "Target", "Pipeline", "Release", "ReleaseApp"' },
  // CEL rules
  { name: 'a kubernetes target without its kubernetes block', base: kubernetesTarget, changes: { 'spec.kubernetes': REMOVE }, path: 'spec.kubernetes', reason: 'kubernetes is required when type is kubernetes', source: 'rule' },
  { name: 'a kubernetes block on a docker target', base: dockerTarget, changes: { 'spec.kubernetes': { namespace: 'shop', name: 'web' } }, path: 'spec.kubernetes', reason: 'kubernetes is only allowed when type is kubernetes', source: 'rule' },
  { name: 'a docker block on a script target', base: scriptTarget, changes: { 'spec.docker': {} }, path: 'spec.docker', reason: 'docker is only allowed when type is docker', source: 'rule' },
  { name: 'a script block on a docker target', base: dockerTarget, changes: { 'spec.script': { workDir: '/opt' } }, path: 'spec.script', reason: 'script is only allowed when type is script', source: 'rule' },
  { name: 'a gitpull block on a script target', base: scriptTarget, changes: { 'spec.gitpull': { workDir: '/srv' } }, path: 'spec.gitpull', reason: 'gitpull is only allowed when type is gitpull', source: 'rule' },
  { name: 'a docker target without an agent', base: dockerTarget, changes: { 'spec.agent': REMOVE }, path: 'spec.agent', reason: 'agent is required for docker, script and gitpull targets', source: 'rule' },
  { name: 'a gitpull target without an agent', base: scriptTarget, changes: { 'spec.type': 'gitpull', 'spec.script': REMOVE, 'spec.agent': REMOVE }, path: 'spec.agent', reason: 'agent is required for docker, script and gitpull targets', source: 'rule' },
  { name: 'an agent on a kubernetes target', base: kubernetesTarget, changes: { 'spec.agent': 'agent-1' }, path: 'spec.agent', reason: 'agent is not used by kubernetes targets', source: 'rule' },
  // List-map uniqueness
  {
    name: 'two installations of the same app',
    base: kubernetesTarget,
    changes: { status: { installations: [{ app: 'web', state: 'installed' }, { app: 'web', state: 'failed' }] } },
    path: 'status.installations[1].app',
    reason: 'Duplicate value: {"app":"web"}',
  },
];

describe('invalid Target manifests', () => {
  it('covers at least 12 rules', () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
  });

  it.each(cases)('rejects $name at $path', (c) => {
    expectSingleIssue(validateChanged(c), c);
  });
});
