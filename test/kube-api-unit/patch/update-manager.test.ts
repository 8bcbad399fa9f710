import { describe, expect, it } from 'vitest';
import { managerFromUserAgent, recordUpdateManager, type KubeObject } from '../../kube-api/patch/index.ts';
import { deployment, deploymentOptions, patched, T0, T1 } from './fixtures.ts';

const withReplicas = (object: KubeObject, replicas: number): KubeObject => ({ ...structuredClone(object), spec: { ...object.spec, replicas } });
const entries = (object: KubeObject) => object.metadata.managedFields as KubeObject[];

describe('recordUpdateManager', () => {
  it('on a create, gives the creator every field it set', () => {
    const created = recordUpdateManager(undefined, deployment({ containers: [{ name: 'a', image: 'x' }] }), 'kubectl-create', 'Update', T0);
    expect(entries(created)).toHaveLength(1);
    expect(entries(created)[0]).toMatchObject({ manager: 'kubectl-create', operation: 'Update', apiVersion: 'apps/v1', time: T0, fieldsType: 'FieldsV1' });
    expect(entries(created)[0]!.fieldsV1['f:spec']['f:template']['f:spec']['f:containers']).toEqual({ 'k:{"name":"a"}': { '.': {}, 'f:image': {}, 'f:name': {} } });
  });

  it('changes the object it is given and returns it', () => {
    const after = deployment();
    expect(recordUpdateManager(undefined, after, 'm', 'Update', T0)).toBe(after);
    expect(after.metadata.managedFields).toHaveLength(1);
  });

  it('on an update, gives the writer only the fields it changed, taken from their previous owner', () => {
    const created = recordUpdateManager(undefined, deployment(), 'kubectl-create', 'Update', T0);
    const scaled = recordUpdateManager(created, withReplicas(created, 5), 'kubectl-scale', 'Update', () => T1);
    expect(entries(scaled).map((e) => [e.manager, e.time])).toEqual([
      ['kubectl-create', T0],
      ['kubectl-scale', T1],
    ]);
    expect(entries(scaled)[1]!.fieldsV1).toEqual({ 'f:spec': { 'f:replicas': {} } });
    expect(entries(scaled)[0]!.fieldsV1['f:spec']['f:replicas']).toBeUndefined();
  });

  it('takes changed fields from an applier, so that the next apply conflicts', () => {
    const applied = patched(undefined, 'application/apply-patch+yaml', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 2, paused: false } }, deploymentOptions({ fieldManager: 'shipway' }));
    const edited = recordUpdateManager(applied, withReplicas(applied, 4), 'kubectl-edit', 'Update', T1);
    expect(entries(edited).map((e) => [e.manager, e.operation, e.fieldsV1])).toEqual([
      ['shipway', 'Apply', { 'f:spec': { 'f:paused': {} } }],
      ['kubectl-edit', 'Update', { 'f:spec': { 'f:replicas': {} } }],
    ]);
  });

  it('records nothing for a write that changes nothing, times included', () => {
    const created = recordUpdateManager(undefined, deployment(), 'kubectl-create', 'Update', T0);
    const same = recordUpdateManager(created, structuredClone(created), 'other', 'Update', T1);
    expect(same).toEqual(created);
  });

  it('drops removed fields from every manager, and managers left with nothing', () => {
    const created = recordUpdateManager(undefined, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } }, 'one', 'Update', T0);
    const withB = recordUpdateManager(created, { ...created, data: { a: '1', b: '2' } }, 'two', 'Update', T0);
    const withoutB = recordUpdateManager(withB, { ...structuredClone(withB), data: { a: '1' } }, 'one', 'Update', T1);
    expect(entries(withoutB).map((e) => e.manager)).toEqual(['one']);
  });

  it('leaves the result of a server-side apply alone, so that callers may pass every write', () => {
    const applied = patched(deployment(), 'application/apply-patch+yaml', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 2 } }, deploymentOptions({ fieldManager: 'shipway' }));
    const copy = structuredClone(applied);
    expect(recordUpdateManager(deployment(), applied, 'shipway', 'Update', T1)).toEqual(copy);
  });

  it.each([
    { name: 'an empty list keeps the stored entries', sent: [], managers: ['kubectl-create', 'writer'] },
    { name: '[{}] resets them', sent: [{}], managers: ['writer'] },
  ])('honours managedFields the writer sends: $name', ({ sent, managers }) => {
    const created = recordUpdateManager(undefined, deployment(), 'kubectl-create', 'Update', T0);
    const next = withReplicas(created, 9);
    next.metadata.managedFields = sent;
    expect(entries(recordUpdateManager(created, next, 'writer', 'Update', T1)).map((e) => e.manager)).toEqual(managers);
  });

  it('records a subresource writer separately', () => {
    const created = recordUpdateManager(undefined, deployment(), 'kubectl-create', 'Update', T0);
    const status = recordUpdateManager(created, { ...structuredClone(created), status: { replicas: 2 } }, 'controller', 'Update', T1, 'status');
    expect(entries(status)[1]).toMatchObject({ manager: 'controller', subresource: 'status', fieldsV1: { 'f:status': { 'f:replicas': {} } } });
  });
});

describe('managerFromUserAgent', () => {
  it.each([
    ['kubectl/v1.32.0 (linux/amd64) kubernetes/abc', 'kubectl'],
    ['node-fetch', 'node-fetch'],
    [undefined, ''],
    ['x'.repeat(200), 'x'.repeat(128)],
  ])('names %s as %s', (agent, manager) => {
    expect(managerFromUserAgent(agent)).toBe(manager);
  });
});
