/**
 * Every patch type through kubectl: merge, JSON and strategic merge (merge keys on Deployment containers and
 * env, `$patch: delete`, `kubectl set image`), and server-side apply with field managers, a conflict and
 * --force-conflicts.
 */
import { describe, expect, it } from 'vitest';
import { json, useCluster, type Obj } from './cluster.ts';
import { IMAGE, IMAGE_NEXT, SIDECAR_IMAGE } from './images.ts';

const c = useCluster('patch');

const twoContainers = (name: string) =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            { name: 'web', image: IMAGE, env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], ports: [{ containerPort: 8080 }] },
            { name: 'sidecar', image: SIDECAR_IMAGE },
          ],
        },
      },
    },
  });

const get = async (kind: string, name: string): Promise<Obj> => json(await c.kubectlOk(['get', kind, name, '-n', c.ns, '-o', 'json', '--show-managed-fields']));

describe('kubectl patch', () => {
  it('merge patch (RFC 7386): sets, replaces lists whole and deletes with null', async () => {
    await c.kubectlOk(['create', 'configmap', 'merged', '--from-literal=keep=1', '--from-literal=drop=2', '-n', c.ns]);
    await c.kubectlOk(['patch', 'configmap', 'merged', '-n', c.ns, '--type=merge', '-p', '{"data":{"drop":null,"new":"3"},"metadata":{"labels":{"patched":"yes"}}}']);
    const cm = await get('configmap', 'merged');
    expect(cm.data).toEqual({ keep: '1', new: '3' });
    expect(cm.metadata.labels).toEqual({ patched: 'yes' });
  });

  it('JSON patch (RFC 6902): add, replace, remove, test; a failing test is refused', async () => {
    await c.kubectlOk(['create', 'configmap', 'jsonpatched', '--from-literal=a=1', '--from-literal=b=2', '-n', c.ns]);
    const ops = [
      { op: 'test', path: '/data/a', value: '1' },
      { op: 'replace', path: '/data/a', value: 'one' },
      { op: 'remove', path: '/data/b' },
      { op: 'add', path: '/metadata/annotations', value: { 'x/y': 'z' } },
    ];
    await c.kubectlOk(['patch', 'configmap', 'jsonpatched', '-n', c.ns, '--type=json', '-p', JSON.stringify(ops)]);
    const cm = await get('configmap', 'jsonpatched');
    expect(cm.data).toEqual({ a: 'one' });
    expect(cm.metadata.annotations).toEqual({ 'x/y': 'z' });

    const failing = await c.kubectl(['patch', 'configmap', 'jsonpatched', '-n', c.ns, '--type=json', '-p', '[{"op":"test","path":"/data/a","value":"nope"}]']);
    expect(failing.code).not.toBe(0);
    expect(failing.stderr).toMatch(/\(Invalid\)|is invalid|test operation/);
    const missing = await c.kubectl(['patch', 'configmap', 'jsonpatched', '-n', c.ns, '--type=json', '-p', '[{"op":"remove","path":"/data/nothing"}]']);
    expect(missing.code).not.toBe(0);
    expect((await get('configmap', 'jsonpatched')).data).toEqual({ a: 'one' });
  });

  it('strategic merge on a Deployment: a container image changes, the other container and env stay', async () => {
    await c.kubectlOk(['apply', '-n', c.ns, '-f', '-'], { input: twoContainers('smp') });
    const before = await get('deployment', 'smp');
    expect(before.metadata.generation).toBe(1);

    // kubectl patch defaults to a strategic merge patch; containers merge by name.
    await c.kubectlOk(['patch', 'deployment', 'smp', '-n', c.ns, '-p', JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'web', image: IMAGE_NEXT, env: [{ name: 'B', value: 'two' }, { name: 'C', value: '3' }] }] } } } })]);
    let d = await get('deployment', 'smp');
    const containers = d.spec.template.spec.containers as Obj[];
    expect(containers.map((x) => x.name)).toEqual(['web', 'sidecar']);
    expect(containers[0]!.image).toBe(IMAGE_NEXT);
    expect(containers[0]!.env).toEqual([{ name: 'A', value: '1' }, { name: 'B', value: 'two' }, { name: 'C', value: '3' }]);
    expect(containers[0]!.ports).toEqual([{ containerPort: 8080, protocol: 'TCP' }]);
    expect(containers[1]!.image).toBe(SIDECAR_IMAGE);
    expect(d.metadata.generation).toBe(2);

    // kubectl set image sends a strategic merge patch too.
    await c.kubectlOk(['set', 'image', 'deployment/smp', `sidecar=${IMAGE}`, '-n', c.ns]);
    d = await get('deployment', 'smp');
    expect((d.spec.template.spec.containers as Obj[]).map((x) => x.image)).toEqual([IMAGE_NEXT, IMAGE]);

    // $patch: delete removes one list item by its merge key.
    await c.kubectlOk(['patch', 'deployment', 'smp', '-n', c.ns, '--type=strategic', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}}}}']);
    d = await get('deployment', 'smp');
    expect((d.spec.template.spec.containers as Obj[]).map((x) => x.name)).toEqual(['web']);
  });

  it('client-side apply merges containers by name: a container added by someone else survives a re-apply', async () => {
    const manifest = (image: string) =>
      JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'applied' },
        spec: { replicas: 0, selector: { matchLabels: { app: 'applied' } }, template: { metadata: { labels: { app: 'applied' } }, spec: { containers: [{ name: 'web', image }] } } },
      });
    await c.kubectlOk(['apply', '-n', c.ns, '-f', '-'], { input: manifest(IMAGE) });
    // An injected sidecar (as a mutating webhook or another tool would add) is not in the applied configuration.
    await c.kubectlOk(['patch', 'deployment', 'applied', '-n', c.ns, '-p', JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'injected', image: SIDECAR_IMAGE }] } } } })]);
    await c.kubectlOk(['apply', '-n', c.ns, '-f', '-'], { input: manifest(IMAGE_NEXT) });
    const d = await get('deployment', 'applied');
    expect((d.spec.template.spec.containers as Obj[]).map((x) => [x.name, x.image])).toEqual([
      ['web', IMAGE_NEXT],
      ['injected', SIDECAR_IMAGE],
    ]);
  });

  it('a merge patch on a Deployment replaces the containers list whole', async () => {
    await c.kubectlOk(['apply', '-n', c.ns, '-f', '-'], { input: twoContainers('mergelist') });
    await c.kubectlOk(['patch', 'deployment', 'mergelist', '-n', c.ns, '--type=merge', '-p', JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'web', image: IMAGE_NEXT }] } } } })]);
    const d = await get('deployment', 'mergelist');
    expect((d.spec.template.spec.containers as Obj[]).map((x) => [x.name, x.image])).toEqual([['web', IMAGE_NEXT]]);
  });

  it('patching nothing is a no-op that keeps the resourceVersion', async () => {
    await c.kubectlOk(['create', 'configmap', 'noop', '--from-literal=a=1', '-n', c.ns]);
    const before = await get('configmap', 'noop');
    const out = await c.kubectlOk(['patch', 'configmap', 'noop', '-n', c.ns, '--type=merge', '-p', '{"data":{"a":"1"}}']);
    expect(out).toMatch(/patched \(no change\)/);
    expect((await get('configmap', 'noop')).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });
});

describe('kubectl apply --server-side', () => {
  const cm = (data: Obj) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa' }, data });

  it('creates, records the field manager, and reports a conflict with another manager', async () => {
    const created = await c.kubectlOk(['apply', '--server-side', '--field-manager=team-a', '-n', c.ns, '-f', '-'], { input: cm({ owner: 'a', shared: 'x' }) });
    expect(created).toMatch(/configmap\/ssa serverside-applied/);
    let object = await get('configmap', 'ssa');
    const managers = (object.metadata.managedFields as Obj[]).map((m) => [m.manager, m.operation]);
    expect(managers).toContainEqual(['team-a', 'Apply']);
    const teamA = (object.metadata.managedFields as Obj[]).find((m) => m.manager === 'team-a')!;
    expect(teamA.fieldsType).toBe('FieldsV1');
    expect(teamA.fieldsV1['f:data']).toEqual({ 'f:owner': {}, 'f:shared': {} });

    const conflict = await c.kubectl(['apply', '--server-side', '--field-manager=team-b', '-n', c.ns, '-f', '-'], { input: cm({ shared: 'y' }) });
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toMatch(/Apply failed with 1 conflict: conflict with "team-a": \.data\.shared/);
    expect((await get('configmap', 'ssa')).data.shared).toBe('x');

    await c.kubectlOk(['apply', '--server-side', '--force-conflicts', '--field-manager=team-b', '-n', c.ns, '-f', '-'], { input: cm({ shared: 'y' }) });
    object = await get('configmap', 'ssa');
    expect(object.data).toEqual({ owner: 'a', shared: 'y' });
    const fields = Object.fromEntries((object.metadata.managedFields as Obj[]).map((m) => [m.manager, Object.keys(m.fieldsV1['f:data'] ?? {})]));
    expect(fields['team-b']).toEqual(['f:shared']);
    expect(fields['team-a']).toEqual(['f:owner']);
  });

  it('removes fields a manager stops applying, and leaves those of others', async () => {
    await c.kubectlOk(['apply', '--server-side', '--field-manager=team-a', '-n', c.ns, '-f', '-'], { input: cm({}) });
    const object = await get('configmap', 'ssa');
    expect(object.data).toEqual({ shared: 'y' });
  });

  it('server-side apply of a Deployment conflicts with a kubectl scale, and --force-conflicts takes replicas', async () => {
    const deployment = (replicas: number) =>
      JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'ssa-deploy' },
        spec: { replicas, selector: { matchLabels: { app: 'ssa-deploy' } }, template: { metadata: { labels: { app: 'ssa-deploy' } }, spec: { containers: [{ name: 'web', image: IMAGE }] } } },
      });
    await c.kubectlOk(['apply', '--server-side', '--field-manager=deployer', '-n', c.ns, '-f', '-'], { input: deployment(0) });
    await c.kubectlOk(['scale', 'deployment', 'ssa-deploy', '--replicas=1', '-n', c.ns]);
    const conflict = await c.kubectl(['apply', '--server-side', '--field-manager=deployer', '-n', c.ns, '-f', '-'], { input: deployment(0) });
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toMatch(/conflict with "kubectl[^"]*"( with subresource "scale")? using apps\/v1: \.spec\.replicas/);
    await c.kubectlOk(['apply', '--server-side', '--force-conflicts', '--field-manager=deployer', '-n', c.ns, '-f', '-'], { input: deployment(0) });
    expect((await get('deployment', 'ssa-deploy')).spec.replicas).toBe(0);
  });
});
