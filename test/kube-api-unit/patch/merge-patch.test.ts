import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../kube-api/patch/index.ts';
import { containers, deployment, deploymentOptions, patched, patchError, widgetOptions } from './fixtures.ts';

const MERGE = 'application/merge-patch+json' as const;

describe('JSON merge patch (RFC 7386)', () => {
  it.each([
    {
      name: 'null deletes a field',
      patch: { spec: { strategy: { rollingUpdate: null } } },
      check: (o: KubeObject) => expect(o.spec.strategy).toEqual({ type: 'RollingUpdate' }),
    },
    {
      name: 'objects merge recursively and keep what the patch leaves out',
      patch: { metadata: { labels: { tier: 'front' } }, spec: { replicas: 4 } },
      check: (o: KubeObject) => expect([o.metadata.labels, o.spec.replicas, o.spec.selector]).toEqual([{ app: 'web', tier: 'front' }, 4, { matchLabels: { app: 'web' } }]),
    },
    {
      name: 'lists are replaced whole, even those strategic merge would merge',
      patch: { spec: { template: { spec: { containers: [{ name: 'app', image: 'shop/app:2.0' }] } } } },
      check: (o: KubeObject) => expect(containers(o)).toEqual([{ name: 'app', image: 'shop/app:2.0' }]),
    },
    {
      name: 'nulls inside a new object are dropped',
      patch: { metadata: { annotations: { a: '1', b: null } } },
      check: (o: KubeObject) => expect(o.metadata.annotations).toEqual({ a: '1' }),
    },
    {
      name: 'a scalar replaces an object',
      patch: { spec: { strategy: 'none' } },
      check: (o: KubeObject) => expect(o.spec.strategy).toBe('none'),
    },
    {
      name: 'name, uid and resourceVersion in the patch are kept for the caller to judge',
      patch: { metadata: { name: 'other', uid: 'uid-2', resourceVersion: '6' } },
      check: (o: KubeObject) => expect(o.metadata).toMatchObject({ name: 'other', uid: 'uid-2', resourceVersion: '6' }),
    },
  ])('$name', ({ patch, check }) => {
    check(patched(deployment(), MERGE, patch, deploymentOptions()));
  });

  it('works the same on custom resources', () => {
    const widget = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 1, parts: ['a'] } };
    expect(patched(widget, MERGE, { spec: { parts: ['b'], size: null } }, widgetOptions()).spec).toEqual({ parts: ['b'] });
  });

  it.each([
    { name: 'a list', body: '[{"op":"add"}]', message: 'error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}' },
    { name: 'a string', body: '"x"', message: 'error decoding patch: json: cannot unmarshal string into Go value of type map[string]interface {}' },
    { name: 'null', body: 'null', message: 'Invalid JSON Patch' },
    { name: 'text that is not JSON', body: '{"spec":', message: expect.stringMatching(/^error decoding patch: /) },
  ])('answers 400 BadRequest to $name', ({ body, message }) => {
    expect(patchError(() => patched(deployment(), MERGE, body, deploymentOptions()))).toMatchObject({ code: 400, reason: 'BadRequest', message });
  });
});
