/**
 * kubectl against the cluster: discovery and version, typed creates (protobuf bodies from kubectl >= 1.32),
 * apply, get with printer columns, describe, annotate, label, selectors, dry runs, generateName, finalizers,
 * optimistic concurrency and namespace deletion.
 */
import { describe, expect, it } from 'vitest';
import { eventually, json, useCluster, type Obj } from './cluster.ts';

const c = useCluster('basics');

const list = (...items: string[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items: items.map((i) => JSON.parse(i)) });
const configMap = (name: string, data: Record<string, string>, labels: Record<string, string> = {}) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data });

describe('kubectl: discovery and version', () => {
  it('reports the server version and serves discovery for built-in groups', async () => {
    const version = json(await c.kubectlOk(['version', '-o', 'json']));
    expect(version.serverVersion.major).toBe('1');
    expect(Number.parseInt(version.serverVersion.minor, 10)).toBeGreaterThanOrEqual(27);

    const resources = await c.kubectlOk(['api-resources', '--no-headers']);
    for (const line of [/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m, /^namespaces\s+ns\s+v1\s+false\s+Namespace$/m, /^configmaps\s+cm\s+v1\s+true\s+ConfigMap$/m]) {
      expect(resources).toMatch(line);
    }
    const versions = (await c.kubectlOk(['api-versions'])).split('\n');
    expect(versions).toEqual(expect.arrayContaining(['v1', 'apps/v1', 'batch/v1', 'apiextensions.k8s.io/v1']));
  });

  it('serves legacy discovery documents too', async () => {
    const core = json(await c.kubectlOk(['get', '--raw', '/api/v1']));
    expect(core.kind).toBe('APIResourceList');
    expect(core.resources).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'configmaps', namespaced: true, kind: 'ConfigMap', shortNames: ['cm'] }), expect.objectContaining({ name: 'namespaces/status' })]));
    const groups = json(await c.kubectlOk(['get', '--raw', '/apis']));
    expect(groups.kind).toBe('APIGroupList');
    expect(groups.groups.map((g: Obj) => g.name)).toEqual(expect.arrayContaining(['apps', 'batch', 'apiextensions.k8s.io']));
    const apps = json(await c.kubectlOk(['get', '--raw', '/apis/apps/v1']));
    const deployments = (apps.resources as Obj[]).find((r) => r.name === 'deployments')!;
    expect(deployments).toMatchObject({ kind: 'Deployment', namespaced: true, shortNames: ['deploy'] });
    expect(deployments.verbs).toEqual(expect.arrayContaining(['create', 'get', 'list', 'watch', 'patch', 'update', 'delete']));
    expect((apps.resources as Obj[]).map((r) => r.name)).toEqual(expect.arrayContaining(['deployments/status', 'deployments/scale']));
    const index = json(await c.kubectlOk(['get', '--raw', '/openapi/v3']));
    expect(Object.keys(index.paths)).toEqual(expect.arrayContaining(['api/v1', 'apis/apps/v1']));
  });

  it('publishes OpenAPI v3 schemas of built-in kinds: kubectl explain reads them', async () => {
    expect(await c.kubectlOk(['explain', 'deployment.spec.replicas'])).toMatch(/^FIELD:\s+replicas <integer>$/m);
    const containers = await c.kubectlOk(['explain', 'pods.spec.containers']);
    expect(containers).toMatch(/^FIELD:\s+containers <\[\]Container>/m);
    expect(containers).toMatch(/^\s+image\s+<string>$/m);
    expect(await c.kubectlOk(['explain', 'configmap'])).toMatch(/^\s+data\s+<map\[string\]string>$/m);
  });

  it('has a Ready node, and answers access reviews (kubectl auth can-i)', async () => {
    const nodes = await c.kubectlOk(['get', 'nodes', '--no-headers']);
    expect(nodes).toMatch(/^\S+\s+Ready\s/m);
    expect((await c.kubectlOk(['auth', 'can-i', 'create', 'configmaps', '-n', c.ns])).trim()).toBe('yes');
  });

  it('answers unknown resource types with a clear error', async () => {
    const result = await c.kubectl(['get', 'nosuchthings']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/the server doesn't have a resource type "nosuchthings"/);
  });
});

describe('kubectl: create, get, describe', () => {
  it('creates built-ins with typed create commands and reads them back', async () => {
    await c.kubectlOk(['create', 'configmap', 'typed-cm', '--from-literal=greeting=hello', '-n', c.ns]);
    await c.kubectlOk(['create', 'secret', 'generic', 'typed-secret', '--from-literal=password=s3cret', '-n', c.ns]);
    await c.kubectlOk(['create', 'deployment', 'typed-deploy', '--image=registry.local/conformance/web:1.0.0', '--replicas=0', '-n', c.ns]);
    await c.kubectlOk(['create', 'serviceaccount', 'typed-sa', '-n', c.ns]);

    const cm = json(await c.kubectlOk(['get', 'configmap', 'typed-cm', '-n', c.ns, '-o', 'json']));
    expect(cm.data).toEqual({ greeting: 'hello' });
    expect(cm.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(cm.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(cm.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const secret = json(await c.kubectlOk(['get', 'secret', 'typed-secret', '-n', c.ns, '-o', 'json']));
    expect(secret.type).toBe('Opaque');
    expect(Buffer.from(secret.data.password, 'base64').toString()).toBe('s3cret');

    const deploy = json(await c.kubectlOk(['get', 'deployment', 'typed-deploy', '-n', c.ns, '-o', 'json']));
    expect(deploy.spec.replicas).toBe(0);
    expect(deploy.metadata.generation).toBe(1);
    // Server-side defaults, as every real API server fills them in.
    expect(deploy.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } });
    expect(deploy.spec.revisionHistoryLimit).toBe(10);
    expect(deploy.spec.template.spec.containers[0]).toMatchObject({ name: 'web', imagePullPolicy: 'IfNotPresent', terminationMessagePolicy: 'File' });
  });

  it('applies manifests from stdin, and a second apply of the same manifest changes nothing', async () => {
    const manifest = configMap('applied', { a: '1' });
    expect(await c.kubectlOk(['apply', '-n', c.ns, '-f', '-'], { input: manifest })).toMatch(/configmap\/applied created/);
    const first = json(await c.kubectlOk(['get', 'cm', 'applied', '-n', c.ns, '-o', 'json']));
    expect(first.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toContain('"a":"1"');
    expect(await c.kubectlOk(['apply', '-n', c.ns, '-f', '-'], { input: manifest })).toMatch(/configmap\/applied unchanged/);
    const second = json(await c.kubectlOk(['get', 'cm', 'applied', '-n', c.ns, '-o', 'json']));
    expect(second.metadata.resourceVersion).toBe(first.metadata.resourceVersion);

    expect(await c.kubectlOk(['apply', '-n', c.ns, '-f', '-'], { input: configMap('applied', { b: '2' }) })).toMatch(/configmap\/applied configured/);
    const third = json(await c.kubectlOk(['get', 'cm', 'applied', '-n', c.ns, '-o', 'json']));
    // Client-side apply removes what the last applied configuration had and the new one does not.
    expect(third.data).toEqual({ b: '2' });
    expect(Number(third.metadata.resourceVersion)).toBeGreaterThan(Number(first.metadata.resourceVersion));
  });

  it('prints tables with the server-side columns, -o wide, custom columns and jsonpath', async () => {
    await c.kubectlOk(['create', 'deployment', 'printed', '--image=registry.local/conformance/web:1.0.0', '--replicas=0', '-n', c.ns]);
    const table = await c.kubectlOk(['get', 'deployments', 'printed', '-n', c.ns]);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/);
    expect(table).toMatch(/^printed\s+0\/0\s+0\s+0\s+\d+s$/m);

    const wide = await c.kubectlOk(['get', 'deployment', 'printed', '-n', c.ns, '-o', 'wide']);
    expect(wide.split('\n')[0]).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR$/);
    expect(wide).toMatch(/printed\s.*\sweb\s+registry\.local\/conformance\/web:1\.0\.0\s+app=printed/);

    const custom = await c.kubectlOk(['get', 'deployment', 'printed', '-n', c.ns, '-o', 'custom-columns=NAME:.metadata.name,IMAGE:.spec.template.spec.containers[0].image,REPLICAS:.spec.replicas']);
    expect(custom.trim().split('\n')).toEqual([expect.stringMatching(/^NAME\s+IMAGE\s+REPLICAS$/), expect.stringMatching(/^printed\s+registry\.local\/conformance\/web:1\.0\.0\s+0$/)]);

    expect(await c.kubectlOk(['get', 'deployment', 'printed', '-n', c.ns, '-o', 'jsonpath={.spec.template.spec.containers[*].name}'])).toBe('web');
    const names = await c.kubectlOk(['get', 'namespaces', '-o', 'name']);
    expect(names).toContain(`namespace/${c.ns}`);
    const noHeaders = await c.kubectlOk(['get', 'deployment', 'printed', '-n', c.ns, '--no-headers', '--show-labels']);
    expect(noHeaders).toMatch(/^printed\s.*app=printed$/m);
  });

  it('describes objects', async () => {
    await c.kubectlOk(['apply', '-n', c.ns, '-f', '-'], { input: configMap('described', { key: 'value' }, { tier: 'backend' }) });
    const text = await c.kubectlOk(['describe', 'configmap', 'described', '-n', c.ns]);
    expect(text).toMatch(/^Name:\s+described$/m);
    expect(text).toMatch(new RegExp(`^Namespace:\\s+${c.ns}$`, 'm'));
    expect(text).toMatch(/^Labels:\s+tier=backend$/m);
    expect(text).toMatch(/^key:$/m);

    await c.kubectlOk(['create', 'deployment', 'described-deploy', '--image=registry.local/conformance/web:1.0.0', '--replicas=0', '-n', c.ns]);
    const deploy = await c.kubectlOk(['describe', 'deployment', 'described-deploy', '-n', c.ns]);
    expect(deploy).toMatch(/^StrategyType:\s+RollingUpdate$/m);
    expect(deploy).toMatch(/^\s+Image:\s+registry\.local\/conformance\/web:1\.0\.0$/m);
  });
});

describe('kubectl: annotate, label and selectors', () => {
  it('annotates and labels, refusing to overwrite without --overwrite', async () => {
    await c.kubectlOk(['apply', '-n', c.ns, '-f', '-'], { input: configMap('tagged', { a: '1' }) });
    await c.kubectlOk(['annotate', 'configmap', 'tagged', 'owner=team-a', '-n', c.ns]);
    await c.kubectlOk(['label', 'configmap', 'tagged', 'tier=web', 'env=pre', '-n', c.ns]);
    let cm = json(await c.kubectlOk(['get', 'cm', 'tagged', '-n', c.ns, '-o', 'json']));
    expect(cm.metadata.annotations.owner).toBe('team-a');
    expect(cm.metadata.labels).toEqual({ tier: 'web', env: 'pre' });

    const refused = await c.kubectl(['label', 'configmap', 'tagged', 'tier=api', '-n', c.ns]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/already has a value \(web\), and --overwrite is false/);

    await c.kubectlOk(['label', 'configmap', 'tagged', 'tier=api', '--overwrite', '-n', c.ns]);
    await c.kubectlOk(['label', 'configmap', 'tagged', 'env-', '-n', c.ns]);
    await c.kubectlOk(['annotate', 'configmap', 'tagged', 'owner-', '-n', c.ns]);
    cm = json(await c.kubectlOk(['get', 'cm', 'tagged', '-n', c.ns, '-o', 'json']));
    expect(cm.metadata.labels).toEqual({ tier: 'api' });
    expect(cm.metadata.annotations?.owner).toBeUndefined();

    const invalid = await c.kubectl(['label', 'configmap', 'tagged', 'bad=-nope-', '-n', c.ns]);
    expect(invalid.code).not.toBe(0);
  });

  it('filters lists with label selectors (full grammar) and field selectors', async () => {
    const items = [
      configMap('sel-a', {}, { app: 'shop', tier: 'web', track: 'stable' }),
      configMap('sel-b', {}, { app: 'shop', tier: 'api' }),
      configMap('sel-c', {}, { app: 'blog', tier: 'web' }),
    ];
    await c.kubectlOk(['apply', '-n', c.ns, '-f', '-'], { input: list(...items) });
    const names = async (...selector: string[]) =>
      (await c.kubectlOk(['get', 'configmaps', '-n', c.ns, '-o', 'jsonpath={.items[*].metadata.name}', ...selector])).split(' ').filter((n) => n.startsWith('sel-')).sort();
    expect(await names('-l', 'app=shop')).toEqual(['sel-a', 'sel-b']);
    expect(await names('-l', 'app=shop,tier!=web')).toEqual(['sel-b']);
    expect(await names('-l', 'tier in (web),app notin (shop)')).toEqual(['sel-c']);
    expect(await names('-l', 'track')).toEqual(['sel-a']);
    expect(await names('-l', '!track,app')).toEqual(['sel-b', 'sel-c']);
    expect(await names('--field-selector', 'metadata.name=sel-b')).toEqual(['sel-b']);
    expect(await names('--field-selector', 'metadata.name!=sel-b', '-l', 'app=shop')).toEqual(['sel-a']);

    const bad = await c.kubectl(['get', 'configmaps', '-n', c.ns, '--field-selector', 'spec.nothing=1']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/field label not supported: spec\.nothing/);
  });
});

describe('kubectl: dry runs, generateName, errors and concurrency', () => {
  it('validates with --dry-run=server without storing anything', async () => {
    const out = await c.kubectlOk(['create', 'configmap', 'dry', '--from-literal=a=b', '--dry-run=server', '-n', c.ns, '-o', 'json']);
    const preview = json(out);
    expect(preview.metadata.name).toBe('dry');
    expect(preview.metadata.uid).toBeTruthy();
    const get = await c.kubectl(['get', 'configmap', 'dry', '-n', c.ns]);
    expect(get.code).not.toBe(0);
    expect(get.stderr).toMatch(/NotFound|not found/);

    await c.kubectlOk(['apply', '-n', c.ns, '-f', '-'], { input: configMap('dry-existing', { a: '1' }) });
    const before = json(await c.kubectlOk(['get', 'cm', 'dry-existing', '-n', c.ns, '-o', 'json']));
    await c.kubectlOk(['apply', '--dry-run=server', '-n', c.ns, '-f', '-'], { input: configMap('dry-existing', { a: '2' }) });
    await c.kubectlOk(['delete', 'configmap', 'dry-existing', '--dry-run=server', '-n', c.ns]);
    const after = json(await c.kubectlOk(['get', 'cm', 'dry-existing', '-n', c.ns, '-o', 'json']));
    expect(after.data).toEqual({ a: '1' });
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('names objects from generateName on create', async () => {
    const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' }, data: { a: '1' } });
    const first = (await c.kubectlOk(['create', '-n', c.ns, '-f', '-', '-o', 'name'], { input: manifest })).trim();
    const second = (await c.kubectlOk(['create', '-n', c.ns, '-f', '-', '-o', 'name'], { input: manifest })).trim();
    expect(first).toMatch(/^configmap\/gen-[a-z0-9]{5}$/);
    expect(second).toMatch(/^configmap\/gen-[a-z0-9]{5}$/);
    expect(second).not.toBe(first);
  });

  it('answers AlreadyExists, NotFound and Invalid with Status errors', async () => {
    await c.kubectlOk(['create', 'configmap', 'twice', '-n', c.ns]);
    const again = await c.kubectl(['create', 'configmap', 'twice', '-n', c.ns]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/configmaps "twice" already exists/);

    const missing = await c.kubectl(['get', 'configmap', 'nope', '-n', c.ns]);
    expect(missing.stderr).toMatch(/\(NotFound\): configmaps "nope" not found/);

    const badName = await c.kubectl(['create', 'configmap', 'Bad_Name', '-n', c.ns]);
    expect(badName.code).not.toBe(0);
    expect(badName.stderr).toMatch(/"Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name"/);

    const noNamespace = await c.kubectl(['create', 'configmap', 'orphan', '-n', `${c.ns}-missing`]);
    expect(noNamespace.stderr).toMatch(/namespaces "[^"]+" not found/);
  });

  it('refuses an update with a stale resourceVersion (409 Conflict)', async () => {
    await c.kubectlOk(['apply', '-n', c.ns, '-f', '-'], { input: configMap('contended', { v: '1' }) });
    const stale = json(await c.kubectlOk(['get', 'cm', 'contended', '-n', c.ns, '-o', 'json']));
    await c.kubectlOk(['patch', 'configmap', 'contended', '-n', c.ns, '--type=merge', '-p', '{"data":{"v":"2"}}']);
    stale.data.v = '3';
    const result = await c.kubectl(['replace', '-n', c.ns, '-f', '-'], { input: JSON.stringify(stale) });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/\(Conflict\): .*Operation cannot be fulfilled on configmaps "contended": the object has been modified; please apply your changes to the latest version and try again/);
    const current = json(await c.kubectlOk(['get', 'cm', 'contended', '-n', c.ns, '-o', 'json']));
    expect(current.data.v).toBe('2');

    // Without a resourceVersion the replace is unconditional.
    delete stale.metadata.resourceVersion;
    await c.kubectlOk(['replace', '-n', c.ns, '-f', '-'], { input: JSON.stringify(stale) });
    expect(json(await c.kubectlOk(['get', 'cm', 'contended', '-n', c.ns, '-o', 'json'])).data.v).toBe('3');
  });
});

describe('kubectl: delete with finalizers', () => {
  it('keeps an object with a finalizer, marked with deletionTimestamp, until the finalizer is removed', async () => {
    const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', finalizers: ['conformance.shipway.dev/hold'] }, data: { a: '1' } });
    await c.kubectlOk(['apply', '-n', c.ns, '-f', '-'], { input: manifest });
    await c.kubectlOk(['delete', 'configmap', 'held', '-n', c.ns, '--wait=false']);
    const held = json(await c.kubectlOk(['get', 'cm', 'held', '-n', c.ns, '-o', 'json']));
    expect(held.metadata.deletionTimestamp).toMatch(/Z$/);
    expect(held.metadata.finalizers).toEqual(['conformance.shipway.dev/hold']);

    // No new finalizers on an object being deleted; other changes are still allowed.
    const refused = await c.kubectl(['patch', 'configmap', 'held', '-n', c.ns, '--type=json', '-p', '[{"op":"add","path":"/metadata/finalizers/-","value":"another/one"}]']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/Forbidden: no new finalizers can be added if the object is being deleted/);

    await c.kubectlOk(['patch', 'configmap', 'held', '-n', c.ns, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await eventually(async () => (await c.kubectl(['get', 'cm', 'held', '-n', c.ns])).code !== 0, 'the configmap to go');
  });

  it('deletes by label selector and waits for deletion', async () => {
    await c.kubectlOk(['apply', '-n', c.ns, '-f', '-'], { input: list(configMap('bulk-1', {}, { bulk: 'yes' }), configMap('bulk-2', {}, { bulk: 'yes' })) });
    const out = await c.kubectlOk(['delete', 'configmaps', '-l', 'bulk=yes', '-n', c.ns]);
    expect(out).toMatch(/configmap "bulk-1" deleted/);
    expect(out).toMatch(/configmap "bulk-2" deleted/);
    expect((await c.kubectlOk(['get', 'configmaps', '-l', 'bulk=yes', '-n', c.ns, '-o', 'name'])).trim()).toBe('');
  });
});

describe('kubectl: namespaces', () => {
  it('deleting a namespace deletes what is in it', async () => {
    const ns = `${c.ns}-doomed`;
    await c.kubectlOk(['create', 'namespace', ns]);
    await c.kubectlOk(['create', 'configmap', 'inside', '--from-literal=a=b', '-n', ns]);
    await c.kubectlOk(['create', 'deployment', 'inside', '--image=registry.local/conformance/web:1.0.0', '--replicas=0', '-n', ns]);
    const nsObject: Obj = json(await c.kubectlOk(['get', 'namespace', ns, '-o', 'json']));
    expect(nsObject.status.phase).toBe('Active');
    expect(nsObject.metadata.labels['kubernetes.io/metadata.name']).toBe(ns);
    await c.kubectlOk(['delete', 'namespace', ns, '--timeout=60s'], { timeoutMs: 70_000 });
    expect((await c.kubectl(['get', 'namespace', ns])).code).not.toBe(0);
    const leftover = await c.kubectl(['get', 'configmap', 'inside', '-n', ns]);
    expect(leftover.code).not.toBe(0);
  });
});
