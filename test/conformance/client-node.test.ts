/**
 * @kubernetes/client-node against the cluster: typed CRUD with Status errors (404, 409 AlreadyExists, 409
 * Conflict on a stale resourceVersion, 422 with causes), dry runs, paging, merge patch through the
 * Content-Type header option (JSON patch is the default), the status subresource of a custom resource,
 * informers seeing add/update/delete, and a watch with bookmarks.
 */
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type KubeConfig,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { eventually, ROOT, useCluster, type Obj } from './cluster.ts';
import { IMAGE } from './images.ts';

const c = useCluster('client');
let kc: KubeConfig;
let core: CoreV1Api;
let custom: CustomObjectsApi;

beforeAll(async () => {
  kc = c.cluster.kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  await c.kubectlOk(['apply', '-f', join(ROOT, 'crds/targets.shipway.dev.yaml')]);
  await c.kubectlOk(['wait', '--for=condition=Established', 'crd/targets.shipway.dev', '--timeout=60s'], { timeoutMs: 70_000 });
});

/** The HTTP status and Status body of a failed call. */
async function failure(call: Promise<unknown>): Promise<{ code: number; status: Obj }> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const body = typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
    return { code: error.code, status: body as Obj };
  }
  throw new Error('the call succeeded');
}

const configMap = (name: string, data: Record<string, string> = {}, labels: Record<string, string> = {}): V1ConfigMap => ({ metadata: { name, labels }, data });

/** A GET with the kubeconfig's credentials and a chosen Accept header: body, status and content type. */
async function raw(path: string, accept: string): Promise<{ code: number; contentType: string; body: Obj }> {
  const server = new URL(kc.getCurrentCluster()!.server);
  const options: RequestOptions = { method: 'GET', hostname: server.hostname.replace(/^\[|\]$/g, ''), port: server.port, path, headers: { Accept: accept } };
  await kc.applyToHTTPSOptions(options);
  const get = server.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = get(options, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: JSON.parse(text) as Obj }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

describe('client-node: discovery and version', () => {
  it('serves aggregated discovery with its media type, legacy discovery otherwise, and /version', async () => {
    const aggregated = await raw('/apis', 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json');
    expect(aggregated.code).toBe(200);
    expect(aggregated.contentType.replace(/\s/g, '')).toMatch(/^application\/json;g=apidiscovery\.k8s\.io;v=v2;as=APIGroupDiscoveryList/);
    expect(aggregated.body.kind).toBe('APIGroupDiscoveryList');
    const apps = (aggregated.body.items as Obj[]).find((g) => g.metadata.name === 'apps')!;
    const deployments = (apps.versions[0].resources as Obj[]).find((r) => r.resource === 'deployments')!;
    expect(deployments).toMatchObject({ responseKind: { group: 'apps', version: 'v1', kind: 'Deployment' }, scope: 'Namespaced', singularResource: 'deployment', shortNames: ['deploy'] });
    expect((deployments.subresources as Obj[]).map((r) => r.subresource)).toEqual(expect.arrayContaining(['status', 'scale']));
    const targets = (aggregated.body.items as Obj[]).find((g) => g.metadata.name === 'shipway.dev')!;
    expect((targets.versions[0].resources as Obj[]).map((r) => r.resource)).toContain('targets');

    const core = await raw('/api', 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json');
    expect(core.body.kind).toBe('APIGroupDiscoveryList');
    expect((core.body.items[0].versions[0].resources as Obj[]).map((r) => r.resource)).toEqual(expect.arrayContaining(['configmaps', 'namespaces', 'pods']));

    const legacy = await raw('/apis', 'application/json');
    expect(legacy.contentType).toMatch(/^application\/json/);
    expect(legacy.body.kind).toBe('APIGroupList');
    expect((legacy.body.groups as Obj[]).map((g) => g.name)).toEqual(expect.arrayContaining(['apps', 'shipway.dev']));
    expect((await raw('/api', 'application/json')).body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });

    const version = await raw('/version', 'application/json');
    expect(version.body).toMatchObject({ major: '1', gitVersion: expect.stringMatching(/^v1\.\d+\.\d+/) });

    const notFound = await raw('/apis/nosuch.example.com/v1', 'application/json');
    expect(notFound.code).toBe(404);
    expect(notFound.body).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
  });
});

describe('client-node: typed CRUD and Status errors', () => {
  it('creates, reads, replaces and deletes; a stale resourceVersion gets 409 Conflict', async () => {
    const created = await core.createNamespacedConfigMap({ namespace: c.ns, body: configMap('crud', { v: '1' }) });
    expect(created.metadata?.uid).toBeTruthy();
    const read = await core.readNamespacedConfigMap({ name: 'crud', namespace: c.ns });
    expect(read.data).toEqual({ v: '1' });
    expect(read.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);

    const replaced = await core.replaceNamespacedConfigMap({ name: 'crud', namespace: c.ns, body: { ...read, data: { v: '2' } } });
    expect(Number(replaced.metadata!.resourceVersion)).toBeGreaterThan(Number(read.metadata!.resourceVersion));

    // `read` still carries the old resourceVersion.
    const stale = await failure(core.replaceNamespacedConfigMap({ name: 'crud', namespace: c.ns, body: { ...read, data: { v: '3' } } }));
    expect(stale.code).toBe(409);
    expect(stale.status).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Conflict', code: 409, details: { name: 'crud', kind: 'configmaps' } });
    expect((await core.readNamespacedConfigMap({ name: 'crud', namespace: c.ns })).data).toEqual({ v: '2' });

    const exists = await failure(core.createNamespacedConfigMap({ namespace: c.ns, body: configMap('crud') }));
    expect(exists.code).toBe(409);
    expect(exists.status.reason).toBe('AlreadyExists');

    await core.deleteNamespacedConfigMap({ name: 'crud', namespace: c.ns });
    const missing = await failure(core.readNamespacedConfigMap({ name: 'crud', namespace: c.ns }));
    expect(missing.code).toBe(404);
    expect(missing.status).toMatchObject({ reason: 'NotFound', message: 'configmaps "crud" not found' });
  });

  it('dryRun=All validates and answers without storing', async () => {
    const preview = await core.createNamespacedConfigMap({ namespace: c.ns, body: configMap('dry-run', { a: 'b' }), dryRun: 'All' });
    expect(preview.metadata?.name).toBe('dry-run');
    expect((await failure(core.readNamespacedConfigMap({ name: 'dry-run', namespace: c.ns }))).code).toBe(404);
  });

  it('generateName gives a unique name', async () => {
    const a = await core.createNamespacedConfigMap({ namespace: c.ns, body: { metadata: { generateName: 'gen-' } } });
    const b = await core.createNamespacedConfigMap({ namespace: c.ns, body: { metadata: { generateName: 'gen-' } } });
    expect(a.metadata?.name).toMatch(/^gen-[a-z0-9]{5}$/);
    expect(b.metadata?.name).not.toBe(a.metadata?.name);
  });

  it('lists with label selectors and pages with limit/continue', async () => {
    for (let i = 0; i < 5; i++) await core.createNamespacedConfigMap({ namespace: c.ns, body: configMap(`page-${i}`, {}, { paged: 'yes', parity: i % 2 ? 'odd' : 'even' }) });
    const odd = await core.listNamespacedConfigMap({ namespace: c.ns, labelSelector: 'paged=yes,parity=odd' });
    expect(odd.items.map((i) => i.metadata?.name).sort()).toEqual(['page-1', 'page-3']);

    const names: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await core.listNamespacedConfigMap({ namespace: c.ns, labelSelector: 'paged=yes', limit: 2, ...(token ? { _continue: token } : {}) });
      names.push(...page.items.map((i) => i.metadata!.name!));
      token = page.metadata?._continue || undefined;
      pages++;
    } while (token && pages < 10);
    expect(pages).toBe(3);
    expect(names.sort()).toEqual(['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
  });

  it('merge patch needs the Content-Type option; a JSON object sent as the default JSON patch is a 400', async () => {
    await core.createNamespacedConfigMap({ namespace: c.ns, body: configMap('patched', { a: '1', b: '2' }) });
    const merged = await core.patchNamespacedConfigMap({ name: 'patched', namespace: c.ns, body: { data: { b: null, c: '3' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    expect(merged.data).toEqual({ a: '1', c: '3' });

    const wrong = await failure(core.patchNamespacedConfigMap({ name: 'patched', namespace: c.ns, body: { data: { a: 'x' } } }));
    expect(wrong.code).toBe(400);

    const jsonPatched = await core.patchNamespacedConfigMap({ name: 'patched', namespace: c.ns, body: [{ op: 'replace', path: '/data/a', value: 'one' }] });
    expect(jsonPatched.data).toEqual({ a: 'one', c: '3' });

    // Server-side apply needs an explicit fieldManager (422 otherwise).
    const applied = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'patched' }, data: { d: '4' } };
    const noManager = await failure(core.patchNamespacedConfigMap({ name: 'patched', namespace: c.ns, body: applied }, setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply)));
    expect(noManager.code).toBe(422);
    expect(noManager.status.message).toMatch(/fieldManager: Required value/);
    const withManager = await core.patchNamespacedConfigMap({ name: 'patched', namespace: c.ns, body: applied, fieldManager: 'conformance' }, setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply));
    expect(withManager.data).toEqual({ a: 'one', c: '3', d: '4' });
  });

  it('reads a Deployment it created with defaults filled in', async () => {
    const apps = kc.makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace: c.ns,
      body: { metadata: { name: 'typed' }, spec: { replicas: 0, selector: { matchLabels: { app: 'typed' } }, template: { metadata: { labels: { app: 'typed' } }, spec: { containers: [{ name: 'web', image: IMAGE }] } } } },
    });
    const d = await apps.readNamespacedDeployment({ name: 'typed', namespace: c.ns });
    expect(d.metadata?.generation).toBe(1);
    expect(d.spec?.strategy?.type).toBe('RollingUpdate');
    expect(d.spec?.template.spec?.containers[0]?.terminationMessagePath).toBe('/dev/termination-log');
  });
});

describe('client-node: custom resources and the status subresource', () => {
  const target = { apiVersion: 'shipway.dev/v1alpha1', kind: 'Target', metadata: { name: 'node-target' }, spec: { type: 'kubernetes', environment: 'pre', kubernetes: { namespace: 'x', name: 'web' } } };
  const ref = { group: 'shipway.dev', version: 'v1alpha1', plural: 'targets' };

  it('creates a custom object with defaults and rejects an invalid one with 422 and causes', async () => {
    const created = (await custom.createNamespacedCustomObject({ ...ref, namespace: c.ns, body: target })) as Obj;
    expect(created.spec.priority).toBe(0);
    expect(created.metadata.generation).toBe(1);
    expect(created.status).toBeUndefined();

    const invalid = await failure(custom.createNamespacedCustomObject({ ...ref, namespace: c.ns, body: { ...target, metadata: { name: 'bad' }, spec: { type: 'kubernetes', environment: 'Nope!' } } }));
    expect(invalid.code).toBe(422);
    expect(invalid.status.reason).toBe('Invalid');
    const fields = (invalid.status.details.causes as Obj[]).map((cause) => cause.field);
    expect(fields).toEqual(expect.arrayContaining(['spec.environment', 'spec.kubernetes']));
  });

  it('replaceNamespacedCustomObjectStatus changes status only and does not bump generation', async () => {
    const current = (await custom.getNamespacedCustomObject({ ...ref, namespace: c.ns, name: 'node-target' })) as Obj;
    const body = { ...current, spec: { ...current.spec, environment: 'changed' }, status: { phase: 'Online', agentVersion: '1.2.3' } };
    const updated = (await custom.replaceNamespacedCustomObjectStatus({ ...ref, namespace: c.ns, name: 'node-target', body })) as Obj;
    expect(updated.status).toEqual({ phase: 'Online', agentVersion: '1.2.3' });
    expect(updated.spec.environment).toBe('pre');
    expect(updated.metadata.generation).toBe(1);
    expect(Number(updated.metadata.resourceVersion)).toBeGreaterThan(Number(current.metadata.resourceVersion));

    // The stale resourceVersion of `current` conflicts on the status subresource too.
    const stale = await failure(custom.replaceNamespacedCustomObjectStatus({ ...ref, namespace: c.ns, name: 'node-target', body: { ...current, status: { phase: 'Offline' } } }));
    expect(stale.code).toBe(409);

    // And the main resource keeps the stored status while its spec changes.
    const fresh = (await custom.getNamespacedCustomObject({ ...ref, namespace: c.ns, name: 'node-target' })) as Obj;
    const replaced = (await custom.replaceNamespacedCustomObject({ ...ref, namespace: c.ns, name: 'node-target', body: { ...fresh, spec: { ...fresh.spec, priority: 7 }, status: { phase: 'Unknown' } } })) as Obj;
    expect(replaced.status.phase).toBe('Online');
    expect(replaced.metadata.generation).toBe(2);

    const patched = (await custom.patchNamespacedCustomObjectStatus({ ...ref, namespace: c.ns, name: 'node-target', body: { status: { phase: 'Offline' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))) as Obj;
    expect(patched.status).toEqual({ phase: 'Offline', agentVersion: '1.2.3' });
    expect(patched.metadata.generation).toBe(2);
  });
});

describe('client-node: informers and watches', () => {
  it('an informer lists, then sees add, update and delete', async () => {
    await core.createNamespacedConfigMap({ namespace: c.ns, body: configMap('inf-existing', {}, { informed: 'yes' }) });
    const informer = makeInformer(kc, `/api/v1/namespaces/${c.ns}/configmaps`, () => core.listNamespacedConfigMap({ namespace: c.ns, labelSelector: 'informed=yes' }), 'informed=yes');
    const seen: string[] = [];
    const errors: unknown[] = [];
    informer.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
    informer.on('update', (o) => seen.push(`update ${o.metadata?.name} ${o.data?.v}`));
    informer.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
    informer.on('error', (e) => errors.push(e));
    await informer.start();
    try {
      await eventually(() => seen.includes('add inf-existing'), 'the listed object');
      await core.createNamespacedConfigMap({ namespace: c.ns, body: configMap('inf-new', { v: '1' }, { informed: 'yes' }) });
      await eventually(() => seen.includes('add inf-new'), 'the add');
      await core.patchNamespacedConfigMap({ name: 'inf-new', namespace: c.ns, body: { data: { v: '2' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      await eventually(() => seen.includes('update inf-new 2'), 'the update');
      await core.deleteNamespacedConfigMap({ name: 'inf-new', namespace: c.ns });
      await eventually(() => seen.includes('delete inf-new'), 'the delete');
      // An object that stops matching the label selector is a delete for this informer.
      await core.patchNamespacedConfigMap({ name: 'inf-existing', namespace: c.ns, body: { metadata: { labels: { informed: 'no' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      await eventually(() => seen.includes('delete inf-existing'), 'the delete of an object leaving the selector');
      expect(informer.list(c.ns)).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await informer.stop();
    }
  });

  it('a watch from a resourceVersion replays later events, and sendInitialEvents ends with a bookmark', async () => {
    const start = await core.listNamespacedConfigMap({ namespace: c.ns });
    await core.createNamespacedConfigMap({ namespace: c.ns, body: configMap('watch-a', {}, { watched: 'yes' }) });
    const events: { type: string; name?: string; annotations?: Record<string, string> }[] = [];
    const watch = new Watch(kc);
    let ended: unknown = 'open';
    const request = await watch.watch(
      `/api/v1/namespaces/${c.ns}/configmaps`,
      { resourceVersion: start.metadata!.resourceVersion, allowWatchBookmarks: true, labelSelector: 'watched=yes' },
      (type, object) => events.push({ type, name: object.metadata?.name }),
      (err) => (ended = err),
    );
    try {
      await eventually(() => events.some((e) => e.type === 'ADDED' && e.name === 'watch-a'), 'the replayed ADDED event');
      await core.deleteNamespacedConfigMap({ name: 'watch-a', namespace: c.ns });
      await eventually(() => events.some((e) => e.type === 'DELETED' && e.name === 'watch-a'), 'the DELETED event');
      expect(ended).toBe('open');
    } finally {
      request.abort();
    }

    // Streaming list: current objects as ADDED, then a BOOKMARK marking the end of the initial events.
    await core.createNamespacedConfigMap({ namespace: c.ns, body: configMap('watch-b', {}, { watched: 'yes' }) });
    const initial: typeof events = [];
    const streaming = await watch.watch(
      `/api/v1/namespaces/${c.ns}/configmaps`,
      { sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: true, labelSelector: 'watched=yes' },
      (type, object) => initial.push({ type, name: object.metadata?.name, annotations: object.metadata?.annotations }),
      () => {},
    );
    try {
      await eventually(() => initial.some((e) => e.type === 'BOOKMARK'), 'the initial-events-end bookmark');
      expect(initial[0]).toMatchObject({ type: 'ADDED', name: 'watch-b' });
      expect(initial.find((e) => e.type === 'BOOKMARK')!.annotations).toMatchObject({ 'k8s.io/initial-events-end': 'true' });
    } finally {
      streaming.abort();
    }
  });
});
