import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../kube-api/store.ts';
import { podTemplate, startCluster, waitFor, type Cluster } from './harness.ts';

let cluster: Cluster;
beforeEach(() => {
  cluster = startCluster(50);
});
afterEach(() => cluster.stop());

const ns = 'default';

/** What `kubectl rollout status statefulset` decides (StatefulSetStatusViewer). */
function stsRolloutDone(sts: KubeObject): boolean {
  const s = sts.status ?? {};
  if (!s.observedGeneration || sts.metadata.generation > s.observedGeneration) return false;
  if ((s.readyReplicas ?? 0) < sts.spec.replicas) return false;
  const partition = sts.spec.updateStrategy?.rollingUpdate?.partition;
  if (partition !== undefined) return (s.updatedReplicas ?? 0) >= sts.spec.replicas - partition;
  return s.updateRevision === s.currentRevision;
}

/** What `kubectl rollout status daemonset` decides (DaemonSetStatusViewer). */
function dsRolloutDone(ds: KubeObject): boolean {
  const s = ds.status ?? {};
  if (ds.metadata.generation > (s.observedGeneration ?? 0)) return false;
  return (s.updatedNumberScheduled ?? 0) >= s.desiredNumberScheduled && (s.numberAvailable ?? 0) >= s.desiredNumberScheduled;
}

describe('StatefulSet controller', () => {
  const getSts = () => cluster.api.get(cluster.types.statefulsets, ns, 'db');
  const pods = () => cluster.api.list(cluster.types.pods, ns).filter((p) => p.metadata.ownerReferences?.[0]?.kind === 'StatefulSet');
  const body = (extra: KubeObject = {}) => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db' },
    spec: { replicas: 3, serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: podTemplate({ app: 'db' }, 'postgres:16'), ...extra },
  });

  it('creates ordered pods <name>-0..n-1 one at a time and becomes ready', async () => {
    const order: string[] = [];
    const unsubscribe = cluster.api.store.subscribe((e) => {
      if (e.resource === '/pods' && e.type === 'ADDED') order.push(e.object.metadata.name);
    });
    cluster.api.create(cluster.types.statefulsets, ns, body());
    const sts = await waitFor('ready', () => stsRolloutDone(getSts()) && getSts(), 5_000, () => getSts().status);
    unsubscribe();
    expect(order).toEqual(['db-0', 'db-1', 'db-2']);
    const revision = sts.status.updateRevision;
    expect(revision).toMatch(/^db-[a-z0-9]+$/);
    expect(sts.status).toEqual({
      observedGeneration: 1,
      replicas: 3,
      readyReplicas: 3,
      currentReplicas: 3,
      updatedReplicas: 3,
      currentRevision: revision,
      updateRevision: revision,
      collisionCount: 0,
      availableReplicas: 3,
    });
    const pod = cluster.api.get(cluster.types.pods, ns, 'db-1');
    expect(pod.metadata.labels).toEqual({ app: 'db', 'controller-revision-hash': revision, 'statefulset.kubernetes.io/pod-name': 'db-1', 'apps.kubernetes.io/pod-index': '1' });
    expect(pod.spec).toMatchObject({ hostname: 'db-1', subdomain: 'db', nodeName: 'emulator-node' });
    const cr = cluster.api.get(cluster.types.controllerrevisions, ns, revision);
    expect(cr.revision).toBe(1);
    expect(cr.data.spec.template.$patch).toBe('replace');
  });

  it('rolls an image change through the pods from the highest ordinal and moves currentRevision', async () => {
    cluster.api.create(cluster.types.statefulsets, ns, body({ replicas: 2 }));
    const before = await waitFor('ready', () => stsRolloutDone(getSts()) && getSts());
    const deletions: string[] = [];
    const unsubscribe = cluster.api.store.subscribe((e) => {
      if (e.resource === '/pods' && e.type === 'DELETED') deletions.push(e.object.metadata.name);
    });
    const sts = getSts();
    sts.spec.template.spec.containers[0].image = 'postgres:17';
    cluster.api.update(cluster.types.statefulsets, ns, 'db', sts, undefined, {});
    const after = await waitFor('rolled', () => {
      const s = getSts();
      return s.status.observedGeneration === 2 && s.status.currentRevision === s.status.updateRevision && s.status.readyReplicas === 2 && s;
    }, 5_000, () => getSts().status);
    unsubscribe();
    expect(deletions).toEqual(['db-1', 'db-0']);
    expect(after.status.updateRevision).not.toBe(before.status.updateRevision);
    expect(pods().map((p) => p.spec.containers[0].image)).toEqual(['postgres:17', 'postgres:17']);
    expect(cluster.api.get(cluster.types.controllerrevisions, ns, after.status.updateRevision).revision).toBe(2);
  });

  it('scales down from the highest ordinal and keeps claims from volumeClaimTemplates', async () => {
    cluster.api.create(
      cluster.types.statefulsets,
      ns,
      body({ volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }] }),
    );
    await waitFor('ready', () => stsRolloutDone(getSts()));
    const claim = cluster.api.get(cluster.types.pvcs, ns, 'data-db-2');
    expect(claim.status).toMatchObject({ phase: 'Bound', capacity: { storage: '1Gi' } });
    expect(cluster.api.get(cluster.types.pods, ns, 'db-2').spec.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'data-db-2' } });
    const sts = getSts();
    sts.spec.replicas = 1;
    cluster.api.update(cluster.types.statefulsets, ns, 'db', sts, undefined, {});
    await waitFor('scaled', () => getSts().status.replicas === 1 && stsRolloutDone(getSts()));
    expect(pods().map((p) => p.metadata.name)).toEqual(['db-0']);
    expect(cluster.api.list(cluster.types.pvcs, ns)).toHaveLength(3);
  });

  it('deleting the StatefulSet removes its pods', async () => {
    cluster.api.create(cluster.types.statefulsets, ns, body({ replicas: 1 }));
    await waitFor('ready', () => stsRolloutDone(getSts()));
    cluster.api.delete(cluster.types.statefulsets, ns, 'db', {});
    await waitFor('pods gone', () => pods().length === 0);
  });
});

describe('DaemonSet controller', () => {
  const getDs = () => cluster.api.get(cluster.types.daemonsets, ns, 'agent');
  const pods = () => cluster.api.list(cluster.types.pods, ns).filter((p) => p.metadata.ownerReferences?.[0]?.kind === 'DaemonSet');

  it('runs one pod on the node, reports it ready and rolls image changes', async () => {
    const ds = cluster.api.create(cluster.types.daemonsets, ns, {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent' },
      spec: { selector: { matchLabels: { app: 'agent' } }, template: podTemplate({ app: 'agent' }, 'fluent-bit:3') },
    });
    const ready = await waitFor('ready', () => dsRolloutDone(getDs()) && getDs(), 5_000, () => getDs().status);
    expect(ready.status).toEqual({ currentNumberScheduled: 1, numberMisscheduled: 0, desiredNumberScheduled: 1, numberReady: 1, observedGeneration: 1, updatedNumberScheduled: 1, numberAvailable: 1 });
    const [pod] = pods();
    expect(pod!.metadata.name).toMatch(/^agent-[a-z0-9]{5}$/);
    expect(pod!.spec.nodeName).toBe('emulator-node');
    expect(pod!.metadata.labels['pod-template-generation']).toBe('1');
    expect(pod!.metadata.ownerReferences[0]).toMatchObject({ kind: 'DaemonSet', uid: ds.metadata.uid, controller: true });

    const next = getDs();
    next.spec.template.spec.containers[0].image = 'fluent-bit:4';
    cluster.api.update(cluster.types.daemonsets, ns, 'agent', next, undefined, {});
    await waitFor('rolled', () => getDs().status.observedGeneration === 2 && dsRolloutDone(getDs()), 5_000, () => getDs().status);
    expect(pods().map((p) => p.spec.containers[0].image)).toEqual(['fluent-bit:4']);
    expect(pods()[0]!.metadata.labels['pod-template-generation']).toBe('2');
    expect(cluster.api.list(cluster.types.controllerrevisions, ns).map((r) => r.revision).sort()).toEqual([1, 2]);
  });

  it('reports numberUnavailable for a -broken image', async () => {
    cluster.api.create(cluster.types.daemonsets, ns, {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent' },
      spec: { selector: { matchLabels: { app: 'agent' } }, template: podTemplate({ app: 'agent' }, 'agent:1-broken') },
    });
    const ds = await waitFor('running', () => pods()[0]?.status?.phase === 'Running' && getDs());
    expect(ds.status).toMatchObject({ currentNumberScheduled: 1, desiredNumberScheduled: 1, numberReady: 0, numberUnavailable: 1 });
    expect(dsRolloutDone(ds)).toBe(false);
  });
});
