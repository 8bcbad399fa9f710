import { describe, expect, it } from 'vitest';
import { FieldSet, pathString } from '../../kube-api/patch/index.ts';
import { fieldSetOf, lookup, removePath } from '../../kube-api/patch/field-paths.ts';
import { listRulesFor } from '../../kube-api/patch/merge-keys.ts';
import { deployment } from './fixtures.ts';

const CONTAINER_A = 'k:{"name":"a"}';

describe('FieldSet and FieldsV1', () => {
  it('writes leaves as {} and a member with children with "."', () => {
    const set = FieldSet.of([['f:spec', 'f:replicas'], ['f:spec', 'f:containers', CONTAINER_A], ['f:spec', 'f:containers', CONTAINER_A, 'f:image']]);
    expect(set.toFieldsV1()).toEqual({ 'f:spec': { 'f:containers': { [CONTAINER_A]: { '.': {}, 'f:image': {} } }, 'f:replicas': {} } });
  });

  it('reads back what it writes', () => {
    const fieldsV1 = { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:replicas': {} } };
    const set = FieldSet.fromFieldsV1(fieldsV1);
    expect(set.paths()).toEqual([['f:metadata', 'f:labels'], ['f:metadata', 'f:labels', 'f:app'], ['f:spec', 'f:replicas']]);
    expect(set.toFieldsV1()).toEqual(fieldsV1);
  });

  it.each([
    { name: 'has a member', path: ['f:spec', 'f:replicas'], has: true, covers: true },
    { name: 'has not a parent that is not a member, but covers it', path: ['f:spec'], has: false, covers: true },
    { name: 'has not a field elsewhere', path: ['f:status'], has: false, covers: false },
  ])('$name', ({ path, has, covers }) => {
    const set = FieldSet.fromFieldsV1({ 'f:spec': { 'f:replicas': {} } });
    expect([set.has(path), set.covers(path)]).toEqual([has, covers]);
  });

  it('forgets parents that only held a removed member', () => {
    const set = FieldSet.of([['f:spec', 'f:template', 'f:x'], ['f:spec', 'f:replicas']]).remove(['f:spec', 'f:template', 'f:x']);
    expect(set.toFieldsV1()).toEqual({ 'f:spec': { 'f:replicas': {} } });
    expect(set.remove(['f:spec', 'f:replicas']).isEmpty()).toBe(true);
  });

  it.each([
    [['f:spec', 'f:replicas'], '.spec.replicas'],
    [['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"web"}', 'f:image'], '.spec.template.spec.containers[name="web"].image'],
    [['f:spec', 'f:ports', 'k:{"port":80,"protocol":"TCP"}'], '.spec.ports[port=80,protocol="TCP"]'],
    [['f:metadata', 'f:finalizers', 'v:"x"'], '.metadata.finalizers[="x"]'],
    [['f:args', 'i:2'], '.args[2]'],
  ])('prints %j as %s', (path, text) => {
    expect(pathString(path)).toBe(text);
  });
});

describe('field sets of objects', () => {
  const rules = listRulesFor({ group: 'apps', kind: 'Deployment' });

  it('tracks keyed list items, set members and atomic lists, and leaves out server-owned metadata', () => {
    const set = fieldSetOf(deployment({ finalizers: ['f1'], containers: [{ name: 'a', image: 'x' }] }), rules);
    expect(set.toFieldsV1()).toEqual({
      'f:metadata': { 'f:finalizers': { 'v:"f1"': {} }, 'f:labels': { 'f:app': {} } },
      'f:spec': {
        'f:replicas': {},
        'f:selector': { 'f:matchLabels': { 'f:app': {} } },
        'f:strategy': { 'f:rollingUpdate': { 'f:maxSurge': {}, 'f:maxUnavailable': {} }, 'f:type': {} },
        'f:template': {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': { 'f:containers': { [CONTAINER_A]: { '.': {}, 'f:image': {}, 'f:name': {} } }, 'f:tolerations': {} },
        },
      },
    });
  });

  it('treats a keyed list with a duplicate key as atomic', () => {
    const set = fieldSetOf({ spec: { template: { spec: { containers: [{ name: 'a' }, { name: 'a' }] } } } }, rules);
    expect(set.paths()).toEqual([['f:spec', 'f:template', 'f:spec', 'f:containers']]);
  });

  it('looks up and removes values by path', () => {
    const object = deployment({ finalizers: ['f1', 'f2'] });
    expect(lookup(object, ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"sidecar"}', 'f:image'])).toEqual({ found: true, value: 'shop/proxy:2.1' });
    expect(lookup(object, ['f:spec', 'f:paused']).found).toBe(false);
    expect(removePath(object, ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"app"}'])).toBe(true);
    expect(removePath(object, ['f:metadata', 'f:finalizers', 'v:"f1"'])).toBe(true);
    expect(removePath(object, ['f:spec', 'f:paused'])).toBe(false);
    expect(object.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual(['sidecar']);
    expect(object.metadata.finalizers).toEqual(['f2']);
  });
});

describe('malformed FieldsV1', () => {
  it('ignores elements that are not path elements', () => {
    const set = FieldSet.fromFieldsV1({ 'f:spec': { 'k:{broken': {}, 'x:y': {}, 'i:z': {}, 'v:"ok"': {}, 'f:replicas': {} }, junk: 1 });
    expect(set.toFieldsV1()).toEqual({ 'f:spec': { 'f:replicas': {}, 'v:"ok"': {} } });
  });
});
