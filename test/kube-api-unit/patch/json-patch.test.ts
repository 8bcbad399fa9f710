import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../kube-api/patch/index.ts';
import { containers, deployment, deploymentOptions, patched, patchError } from './fixtures.ts';

const JSON_PATCH = 'application/json-patch+json' as const;
const REJECTED = 'the server rejected our request due to an error in our request';

describe('JSON patch (RFC 6902)', () => {
  it.each([
    {
      name: 'replaces a container image by index',
      ops: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'shop/app:2.0' }],
      check: (o: KubeObject) => expect(containers(o)[0]!.image).toBe('shop/app:2.0'),
    },
    {
      name: 'adds an annotation whose key needs ~1 escaping',
      ops: [{ op: 'add', path: '/metadata/annotations', value: {} }, { op: 'add', path: '/metadata/annotations/deployment.kubernetes.io~1revision', value: '3' }],
      check: (o: KubeObject) => expect(o.metadata.annotations).toEqual({ 'deployment.kubernetes.io/revision': '3' }),
    },
    {
      name: 'applies operations after a test that holds',
      ops: [{ op: 'test', path: '/spec/replicas', value: 2 }, { op: 'replace', path: '/spec/replicas', value: 5 }],
      check: (o: KubeObject) => expect(o.spec.replicas).toBe(5),
    },
    {
      name: 'removes, moves and copies',
      ops: [{ op: 'remove', path: '/spec/strategy/rollingUpdate' }, { op: 'copy', from: '/metadata/labels', path: '/spec/template/metadata/annotations' }, { op: 'move', from: '/spec/replicas', path: '/spec/paused' }],
      check: (o: KubeObject) => expect([o.spec.strategy, o.spec.template.metadata.annotations, o.spec.replicas, o.spec.paused]).toEqual([{ type: 'RollingUpdate' }, { app: 'web' }, undefined, 2]),
    },
    {
      name: 'replaces the whole template, as kubectl rollout undo does',
      ops: [{ op: 'replace', path: '/spec/template', value: { spec: { containers: [{ name: 'app', image: 'old' }] } } }],
      check: (o: KubeObject) => expect(o.spec.template).toEqual({ spec: { containers: [{ name: 'app', image: 'old' }] } }),
    },
    {
      name: 'keeps a resourceVersion the patch sets, for the caller to check',
      ops: [{ op: 'replace', path: '/metadata/resourceVersion', value: '3' }],
      check: (o: KubeObject) => expect(o.metadata.resourceVersion).toBe('3'),
    },
  ])('$name', ({ ops, check }) => {
    check(patched(deployment(), JSON_PATCH, ops, deploymentOptions()));
  });

  it('treats a null body as an empty patch', () => {
    expect(patched(deployment(), JSON_PATCH, 'null', deploymentOptions())).toEqual(deployment());
  });

  it.each([
    { name: 'a JSON object instead of a list', body: '{"spec":{"replicas":3}}', message: 'json: cannot unmarshal object into Go value of type jsonpatch.Patch' },
    { name: 'a string', body: '"replace"', message: 'json: cannot unmarshal string into Go value of type jsonpatch.Patch' },
    { name: 'a list with a number in it', body: '[1]', message: 'json: cannot unmarshal number into Go value of type jsonpatch.Operation' },
    { name: 'text that is not JSON', body: '[{"op":', message: expect.any(String) },
  ])('answers 400 BadRequest to $name', ({ body, message }) => {
    const error = patchError(() => patched(deployment(), JSON_PATCH, body, deploymentOptions()));
    expect(error).toMatchObject({ code: 400, reason: 'BadRequest', message });
  });

  it.each([
    { name: 'a test that fails', ops: [{ op: 'test', path: '/spec/replicas', value: 9 }, { op: 'replace', path: '/spec/replicas', value: 5 }] },
    { name: 'removing a path that does not exist', ops: [{ op: 'remove', path: '/spec/paused' }] },
    { name: 'replacing a path that does not exist', ops: [{ op: 'replace', path: '/metadata/annotations/x', value: 'y' }] },
    { name: 'adding under a parent that does not exist', ops: [{ op: 'add', path: '/metadata/annotations/x', value: 'y' }] },
    { name: 'an unknown op', ops: [{ op: 'merge', path: '/spec', value: {} }] },
    { name: 'an add without a value', ops: [{ op: 'add', path: '/spec/paused' }] },
    { name: 'an index past the end of a list', ops: [{ op: 'add', path: '/spec/template/spec/containers/5', value: {} }] },
  ])('answers 422 Invalid with the generic message to $name, as the real server does', ({ ops }) => {
    const error = patchError(() => patched(deployment(), JSON_PATCH, ops, deploymentOptions()));
    expect(error).toMatchObject({ code: 422, reason: 'Invalid', message: REJECTED });
    expect(error.causes).toBeUndefined();
    expect((error.cause as Error).message).not.toBe('');
  });

  it('answers 422 Invalid when the result is no longer an object', () => {
    const error = patchError(() => patched(deployment(), JSON_PATCH, [{ op: 'replace', path: '', value: 5 }], deploymentOptions()));
    expect(error).toMatchObject({ code: 422, reason: 'Invalid', message: ' "" is invalid: patch: Invalid value: "5": json: cannot unmarshal number into Go value of type map[string]interface {}' });
  });
});
