/**
 * Behaviour that only the emulator lets a test force, still observed through the real clients: a 410
 * Expired after compacting the event log (and the informer's re-list), periodic bookmarks and watch
 * timeouts on a short clock, persistence across a restart with a data file, and the `-broken` image
 * convention (never ready → ProgressDeadlineExceeded). Skipped against a real cluster.
 */
import { CoreV1Api, makeInformer, Watch, type V1ConfigMap } from '@kubernetes/client-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, isRealCluster, json, startCluster, type Cluster, type Obj } from './cluster.ts';
import { IMAGE } from './images.ts';

const NS = 'emulator-only';

describe.skipIf(isRealCluster)('emulator only: watches on a short clock', () => {
  let cluster: Cluster;
  let core: CoreV1Api;
  beforeAll(async () => {
    cluster = await startCluster({ watchDefaultTimeoutSeconds: 1 });
    core = cluster.kubeConfig().makeApiClient(CoreV1Api);
    await cluster.kubectlOk(['create', 'namespace', NS]);
  });
  afterAll(async () => cluster?.stop());

  it('a watch from a compacted resourceVersion gets an ERROR event with 410 Expired', async () => {
    const old = (await core.listNamespacedConfigMap({ namespace: NS })).metadata!.resourceVersion!;
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'after-compaction' } } });
    cluster.emulator!.api.store.compact();
    const events: { type: string; object: Obj }[] = [];
    let done = false;
    await new Watch(cluster.kubeConfig()).watch(`/api/v1/namespaces/${NS}/configmaps`, { resourceVersion: old }, (type, object) => events.push({ type, object }), () => (done = true));
    await eventually(() => done, 'the watch to end');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', reason: 'Expired', code: 410 } });

    // kubectl's watch starts from a fresh list, so it is unaffected.
    expect(await cluster.kubectlOk(['get', 'configmap', 'after-compaction', '-n', NS, '-o', 'name'])).toMatch(/after-compaction/);
  });

  it('an informer re-lists after a 410 and catches up with what it missed', async () => {
    let lists = 0;
    const informer = makeInformer(cluster.kubeConfig(), `/api/v1/namespaces/${NS}/configmaps`, () => {
      lists++;
      return core.listNamespacedConfigMap({ namespace: NS });
    });
    const added: string[] = [];
    informer.on('add', (o: V1ConfigMap) => added.push(o.metadata!.name!));
    await informer.start();
    try {
      await eventually(() => added.includes('after-compaction'), 'the first list');
      expect(lists).toBe(1);
      // Move the global resourceVersion past the informer's, in another resource, then drop the log: the
      // informer's next watch (they end after 1 s here) resumes from a compacted resourceVersion.
      await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'elsewhere' } } });
      cluster.emulator!.api.store.compact();
      await eventually(() => lists >= 2, 'the re-list after 410', 15_000);
      await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'after-relist' } } });
      await eventually(() => added.includes('after-relist'), 'the watch to resume after the re-list');
      expect(informer.list(NS).map((o) => o.metadata!.name)).toEqual(expect.arrayContaining(['after-compaction', 'after-relist']));
    } finally {
      await informer.stop();
    }
  });

  it('sends periodic bookmarks when asked, and ends a watch at its timeoutSeconds', async () => {
    const events: { type: string; rv?: string }[] = [];
    let ended = false;
    const start = Date.now();
    await new Watch(cluster.kubeConfig()).watch(
      `/api/v1/namespaces/${NS}/configmaps`,
      { resourceVersion: (await core.listNamespacedConfigMap({ namespace: NS })).metadata!.resourceVersion!, allowWatchBookmarks: true, timeoutSeconds: 3 },
      (type, object) => events.push({ type, rv: object.metadata?.resourceVersion }),
      () => (ended = true),
    );
    await eventually(() => ended, 'the watch to time out', 10_000);
    expect(Date.now() - start).toBeGreaterThanOrEqual(2_500);
    const bookmarks = events.filter((e) => e.type === 'BOOKMARK');
    expect(bookmarks.length).toBeGreaterThanOrEqual(2);
    for (const b of bookmarks) expect(b.rv).toMatch(/^\d+$/);
  });
});

describe.skipIf(isRealCluster)('emulator only: persistence with a data file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'conformance-data-'));
  const dataFile = join(dir, 'state.json');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps objects, CRDs and resourceVersions across a restart', async () => {
    let cluster = await startCluster({ dataFile });
    let before: Obj;
    try {
      await cluster.kubectlOk(['create', 'namespace', 'kept']);
      await cluster.kubectlOk(['create', 'configmap', 'kept', '--from-literal=a=b', '-n', 'kept']);
      await cluster.kubectlOk(['apply', '-f', join(import.meta.dirname, '../../crds/targets.shipway.dev.yaml')]);
      await cluster.kubectlOk(['wait', '--for=condition=Established', 'crd/targets.shipway.dev', '--timeout=30s']);
      const target = { apiVersion: 'shipway.dev/v1alpha1', kind: 'Target', metadata: { name: 'kept' }, spec: { type: 'kubernetes', environment: 'pre', kubernetes: { namespace: 'kept', name: 'web' } } };
      await cluster.kubectlOk(['apply', '-n', 'kept', '-f', '-'], { input: JSON.stringify(target) });
      before = json(await cluster.kubectlOk(['get', 'configmap', 'kept', '-n', 'kept', '-o', 'json']));
    } finally {
      await cluster.stop();
    }

    cluster = await startCluster({ dataFile });
    try {
      const after = json(await cluster.kubectlOk(['get', 'configmap', 'kept', '-n', 'kept', '-o', 'json']));
      expect(after.metadata.uid).toBe(before.metadata.uid);
      expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
      expect(after.data).toEqual({ a: 'b' });
      expect(await cluster.kubectlOk(['get', 'targets', '-n', 'kept', '-o', 'name'])).toMatch(/target\.shipway\.dev\/kept/);
      await cluster.kubectlOk(['create', 'configmap', 'new', '-n', 'kept']);
      const created = json(await cluster.kubectlOk(['get', 'configmap', 'new', '-n', 'kept', '-o', 'json']));
      expect(Number(created.metadata.resourceVersion)).toBeGreaterThan(Number(before.metadata.resourceVersion));
    } finally {
      await cluster.stop();
    }
  });
});

describe.skipIf(isRealCluster)('emulator only: the -broken image convention', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster();
    await cluster.kubectlOk(['create', 'namespace', NS]);
  });
  afterAll(async () => cluster?.stop());

  it('a Deployment whose image never becomes ready exceeds its progress deadline; rollout status fails', async () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'stuck' },
      spec: {
        replicas: 1,
        progressDeadlineSeconds: 2,
        selector: { matchLabels: { app: 'stuck' } },
        template: { metadata: { labels: { app: 'stuck' } }, spec: { containers: [{ name: 'web', image: 'registry.local/conformance/web:2.0.0-broken' }] } },
      },
    };
    await cluster.kubectlOk(['apply', '-n', NS, '-f', '-'], { input: JSON.stringify(deployment) });
    const status = await cluster.kubectl(['rollout', 'status', 'deployment/stuck', '-n', NS, '--timeout=30s'], { timeoutMs: 40_000 });
    expect(status.code).not.toBe(0);
    expect(status.stderr).toMatch(/deployment "stuck" exceeded its progress deadline/);
    const d = json(await cluster.kubectlOk(['get', 'deployment', 'stuck', '-n', NS, '-o', 'json']));
    expect(d.status.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' })]));
    expect(d.status.unavailableReplicas).toBe(1);
    const pods = json(await cluster.kubectlOk(['get', 'pods', '-l', 'app=stuck', '-n', NS, '-o', 'json'])).items as Obj[];
    expect(pods[0]!.status.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Ready', status: 'False' })]));
    const wait = await cluster.kubectl(['wait', '--for=condition=Available', 'deployment/stuck', '-n', NS, '--timeout=2s']);
    expect(wait.code).not.toBe(0);

    // Back to a good image: the rollout completes.
    await cluster.kubectlOk(['set', 'image', 'deployment/stuck', `web=${IMAGE}`, '-n', NS]);
    await cluster.kubectlOk(['rollout', 'status', 'deployment/stuck', '-n', NS, '--timeout=60s'], { timeoutMs: 70_000 });
  });
});
