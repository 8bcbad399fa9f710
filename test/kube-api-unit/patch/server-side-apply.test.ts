import { describe, expect, it } from 'vitest';
import { recordUpdateManager, type KubeObject } from '../../kube-api/patch/index.ts';
import { containers, deployment, deploymentOptions, patched, patchError, T0, T1, widgetOptions } from './fixtures.ts';

const APPLY = 'application/apply-patch+yaml' as const;

const config = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', ...metadata },
  spec,
});

const apply = (current: KubeObject | undefined, body: unknown, manager: string, extra: { force?: boolean; now?: string } = {}) =>
  patched(current, APPLY, body, deploymentOptions({ fieldManager: manager, now: () => extra.now ?? T0, ...(extra.force ? { force: true } : {}) }));

const entry = (object: KubeObject, manager: string) => object.metadata.managedFields.find((e: KubeObject) => e.manager === manager);

const YAML_BODY = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels:
    app: web
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: app
        image: shop/app:1.0
`;
const JSON_BODY = config({ replicas: 3, template: { spec: { containers: [{ name: 'app', image: 'shop/app:1.0' }] } } }, { labels: { app: 'web' } });

describe('server-side apply', () => {
  it('creates the object when there is none, owned by the applier', () => {
    const created = apply(undefined, JSON_BODY, 'shipway');
    expect(created).toEqual({
      ...JSON_BODY,
      metadata: {
        ...JSON_BODY.metadata,
        managedFields: [
          {
            manager: 'shipway',
            operation: 'Apply',
            apiVersion: 'apps/v1',
            time: T0,
            fieldsType: 'FieldsV1',
            fieldsV1: {
              'f:metadata': { 'f:labels': { 'f:app': {} } },
              'f:spec': { 'f:replicas': {}, 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:name': {} } } } } },
            },
          },
        ],
      },
    });
  });

  it('accepts a YAML body and a JSON body alike', () => {
    expect(apply(undefined, YAML_BODY, 'shipway')).toEqual(apply(undefined, JSON_BODY, 'shipway'));
  });

  it('decodes YAML as the real server (YAML 1.1): yes is a boolean, a date stays a string', () => {
    const body = 'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  enabled: yes\n  since: 2024-01-01\n  mode: "yes"\n';
    expect(patched(undefined, APPLY, body, widgetOptions({ fieldManager: 'm' })).spec).toEqual({ enabled: true, since: '2024-01-01', mode: 'yes' });
  });

  it('changes nothing when the same configuration is applied again, managedFields times included', () => {
    const first = apply(undefined, JSON_BODY, 'shipway');
    expect(apply(first, YAML_BODY, 'shipway', { now: T1 })).toEqual(first);
  });

  it('merges into the live object and keeps fields it does not configure', () => {
    const live = apply(deployment(), config({ replicas: 2 }), 'shipway');
    expect(live.spec.template).toEqual(deployment().spec.template);
    expect(live.metadata).toMatchObject({ uid: 'uid-1', resourceVersion: '7' });
  });

  it('removes fields the applier owned and no longer configures, and maps left empty', () => {
    const first = apply(undefined, config({ replicas: 3, paused: false }, { labels: { tier: 'front' } }), 'shipway');
    const second = apply(first, config({ paused: false }), 'shipway', { now: T1 });
    expect(second.spec).toEqual({ paused: false });
    expect(second.metadata.labels).toBeUndefined();
    expect(entry(second, 'shipway')).toMatchObject({ time: T1, fieldsV1: { 'f:spec': { 'f:paused': {} } } });
  });

  it('removes a container the applier no longer configures, and keeps one another applier owns', () => {
    const mine = apply(undefined, config({ template: { spec: { containers: [{ name: 'app', image: 'a' }, { name: 'old', image: 'o' }] } } }), 'shipway');
    const theirs = apply(mine, config({ template: { spec: { containers: [{ name: 'mesh', image: 'm' }] } } }), 'mesh-injector');
    const again = apply(theirs, config({ template: { spec: { containers: [{ name: 'app', image: 'a2' }] } } }), 'shipway');
    expect(containers(again)).toEqual([{ name: 'app', image: 'a2' }, { name: 'mesh', image: 'm' }]);
  });

  it('keeps a field the applier stops configuring while another manager owns it too', () => {
    const first = apply(undefined, config({ replicas: 3, paused: true }), 'shipway');
    const shared = apply(first, config({ replicas: 3 }), 'autoscaler-config');
    const after = apply(shared, config({ paused: true }), 'shipway');
    expect(after.spec).toEqual({ replicas: 3, paused: true });
    expect(entry(after, 'autoscaler-config').fieldsV1).toEqual({ 'f:spec': { 'f:replicas': {} } });
    expect(entry(after, 'shipway').fieldsV1).toEqual({ 'f:spec': { 'f:paused': {} } });
  });

  describe('conflicts', () => {
    const applied = () => apply(undefined, config({ replicas: 3, paused: false }), 'shipway');
    const edited = () => recordUpdateManager(applied(), { ...applied(), spec: { replicas: 5, paused: false } }, 'kubectl-edit', 'Update', T1);

    it('answers 409 when a field an Update manager changed gets another value', () => {
      const error = patchError(() => apply(edited(), config({ replicas: 3, paused: false }), 'shipway'));
      expect(error).toMatchObject({
        code: 409,
        reason: 'Conflict',
        message: 'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas',
        causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl-edit" using apps/v1', field: '.spec.replicas' }],
      });
    });

    it('answers 409 naming another applier without an apiVersion', () => {
      const error = patchError(() => apply(applied(), config({ replicas: 1 }), 'other'));
      expect(error.message).toBe('Apply failed with 1 conflict: conflict with "shipway": .spec.replicas');
    });

    it('lists several conflicts grouped by manager', () => {
      const live = apply(apply(undefined, config({ replicas: 3, paused: false }), 'a'), config({ minReadySeconds: 5 }), 'b');
      const error = patchError(() => apply(live, config({ replicas: 1, paused: true, minReadySeconds: 9 }), 'c'));
      expect(error.message).toBe('Apply failed with 3 conflicts: conflicts with "a":\n- .spec.paused\n- .spec.replicas\nconflicts with "b":\n- .spec.minReadySeconds');
      expect(error.causes).toHaveLength(3);
    });

    it('does not conflict when the configured value is the live one: ownership is shared', () => {
      const shared = apply(edited(), config({ replicas: 5 }), 'other');
      expect(entry(shared, 'kubectl-edit').fieldsV1).toEqual({ 'f:spec': { 'f:replicas': {} } });
      expect(entry(shared, 'other').fieldsV1).toEqual({ 'f:spec': { 'f:replicas': {} } });
    });

    it('with force, takes the conflicting fields from their owners', () => {
      const forced = apply(edited(), config({ replicas: 3, paused: false }), 'shipway', { force: true, now: T1 });
      expect(forced.spec.replicas).toBe(3);
      expect(entry(forced, 'kubectl-edit')).toBeUndefined();
      expect(entry(forced, 'shipway').fieldsV1).toEqual({ 'f:spec': { 'f:paused': {}, 'f:replicas': {} } });
    });

    it('treats a live object without managedFields as owned by before-first-apply', () => {
      expect(patchError(() => apply(deployment(), config({ replicas: 5 }), 'shipway')).message).toBe(
        'Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas',
      );
      const ok = apply(deployment(), config({ replicas: 2 }), 'shipway');
      expect(ok.metadata.managedFields.map((e: KubeObject) => [e.manager, e.operation])).toEqual([
        ['shipway', 'Apply'],
        ['before-first-apply', 'Update'],
      ]);
    });
  });

  describe('custom resources', () => {
    const widget = (spec: Record<string, unknown>, finalizers?: string[]) => ({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', ...(finalizers ? { finalizers } : {}) }, spec });

    it('owns lists whole, except finalizers, which are a set', () => {
      const created = patched(undefined, APPLY, widget({ parts: ['a', 'b'] }, ['x']), widgetOptions({ fieldManager: 'm' }));
      expect(created.metadata.managedFields[0].fieldsV1).toEqual({ 'f:metadata': { 'f:finalizers': { 'v:"x"': {} } }, 'f:spec': { 'f:parts': {} } });
      const other = patched(created, APPLY, widget({}, ['y']), widgetOptions({ fieldManager: 'n' }));
      expect(other.metadata.finalizers).toEqual(['x', 'y']);
    });
  });

  it.each([
    {
      name: 'a missing fieldManager: 422 on PatchOptions, as the real server',
      run: () => patched(undefined, APPLY, JSON_BODY, deploymentOptions()),
      expected: { code: 422, reason: 'Invalid', message: 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', details: { group: 'meta.k8s.io', kind: 'PatchOptions' } },
    },
    { name: 'another kind', run: () => apply(undefined, { ...JSON_BODY, kind: 'StatefulSet' }, 'm'), expected: { code: 400, reason: 'BadRequest', message: 'invalid object type: apps/v1, Kind=StatefulSet' } },
    { name: 'another apiVersion', run: () => apply(undefined, { ...JSON_BODY, apiVersion: 'apps/v1beta1' }, 'm'), expected: { code: 400, message: 'invalid object type: apps/v1beta1, Kind=Deployment' } },
    { name: 'no apiVersion and kind', run: () => apply(undefined, { metadata: { name: 'web' } }, 'm'), expected: { code: 400, message: 'invalid object type: /, Kind=' } },
    { name: 'managedFields in the configuration', run: () => apply(undefined, config({}, { managedFields: [] }), 'm'), expected: { code: 400, message: 'metadata.managedFields must be nil' } },
    { name: 'a body that is not YAML', run: () => apply(undefined, 'kind: [', 'm'), expected: { code: 400, message: expect.stringMatching(/^error decoding YAML: /) } },
    { name: 'a YAML list', run: () => apply(undefined, '- a\n- b\n', 'm'), expected: { code: 400, message: expect.stringMatching(/cannot unmarshal array into Go value of type map/) } },
  ])('refuses $name', ({ run, expected }) => {
    expect(patchError(run)).toMatchObject(expected);
  });
});
