import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../kube-api/store.ts';
import { condition, deployment, deploymentRolloutStatus, nextEvent, settle, startCluster, waitFor, type Cluster } from './harness.ts';

let cluster: Cluster;
beforeEach(() => {
  cluster = startCluster();
});
afterEach(() => cluster.stop());

const ns = 'default';
const getDeployment = (name: string) => cluster.api.get(cluster.types.deployments, ns, name);
const replicaSets = (name: string) =>
  cluster.api
    .list(cluster.types.replicasets, ns)
    .filter((rs) => rs.metadata.ownerReferences?.some((r: KubeObject) => r.name === name))
    .map((rs) => structuredClone(rs));
const podsOf = (rs: KubeObject) => cluster.api.list(cluster.types.pods, ns).filter((p) => p.metadata.ownerReferences?.[0]?.uid === rs.metadata.uid);
const revision = (o: KubeObject) => o.metadata.annotations?.['deployment.kubernetes.io/revision'];

async function rolledOut(name: string, timeoutMs = 5_000): Promise<KubeObject> {
  return waitFor(`rollout of ${name}`, () => {
    const d = getDeployment(name);
    return deploymentRolloutStatus(d).done && d;
  }, timeoutMs, () => getDeployment(name).status);
}

function setImage(name: string, image: string): void {
  const d = getDeployment(name);
  d.spec.template.spec.containers[0].image = image;
  cluster.api.update(cluster.types.deployments, ns, name, d, undefined, {});
}

describe('Deployment controller', () => {
  it('creates a ReplicaSet and pods and reports the status rollout status waits for', async () => {
    const firstStatus = nextEvent(cluster.api, (resource, o) => resource === 'apps/deployments' && o.status?.observedGeneration === 1);
    const created = cluster.api.create(cluster.types.deployments, ns, deployment('web', 'nginx:1.25', { replicas: 3 }));
    // Right after the first sync: observed, not yet available.
    const early = await firstStatus;
    expect(deploymentRolloutStatus(early).done).toBe(false);
    expect(condition(early, 'Progressing')?.reason).toMatch(/NewReplicaSetCreated|ReplicaSetUpdated/);
    expect(early.status.readyReplicas).toBeUndefined();

    const d = await rolledOut('web');
    const [rs, ...others] = replicaSets('web');
    expect(others).toEqual([]);
    const hash = rs!.metadata.labels['pod-template-hash'];
    expect(rs!.metadata.name).toBe(`web-${hash}`);
    expect(rs!.spec.selector.matchLabels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rs!.spec.template.metadata.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rs!.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: created.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    expect(rs!.metadata.annotations).toEqual({ 'deployment.kubernetes.io/revision': '1', 'deployment.kubernetes.io/desired-replicas': '3', 'deployment.kubernetes.io/max-replicas': '4' });
    expect(rs!.status).toEqual({ replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: rs!.metadata.generation });

    expect(revision(d)).toBe('1');
    expect(d.status).toMatchObject({ observedGeneration: 1, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 });
    expect(d.status.unavailableReplicas).toBeUndefined();
    expect(condition(d, 'Available')).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' });
    expect(condition(d, 'Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "web-${hash}" has successfully progressed.` });

    const pods = podsOf(rs!);
    expect(pods).toHaveLength(3);
    for (const pod of pods) {
      expect(pod.metadata.name).toMatch(new RegExp(`^web-${hash}-[a-z0-9]{5}$`));
      expect(pod.metadata.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
      expect(pod.spec.nodeName).toBe('emulator-node');
      expect(pod.metadata.ownerReferences[0]).toMatchObject({ kind: 'ReplicaSet', name: rs!.metadata.name, controller: true });
    }

    // Settled: nothing keeps writing.
    await settle(cluster.api);
    const rv = cluster.api.store.resourceVersion;
    await new Promise((r) => setTimeout(r, 150));
    expect(cluster.api.store.resourceVersion).toBe(rv);
  });

  it('rolls out a new template as revision 2 and reuses the old ReplicaSet when changed back (revision 3)', async () => {
    cluster.api.create(cluster.types.deployments, ns, deployment('web', 'nginx:1.25'));
    await rolledOut('web');
    const [first] = replicaSets('web');

    setImage('web', 'nginx:1.26');
    expect(deploymentRolloutStatus(getDeployment('web')).message).toMatch(/observed/);
    const d2 = await rolledOut('web');
    expect(revision(d2)).toBe('2');
    const second = replicaSets('web').find((rs) => rs.metadata.name !== first!.metadata.name)!;
    expect(revision(second)).toBe('2');
    expect(second.spec.replicas).toBe(2);
    const oldNow = replicaSets('web').find((rs) => rs.metadata.name === first!.metadata.name)!;
    expect(oldNow.spec.replicas).toBe(0);
    expect(podsOf(oldNow)).toHaveLength(0);
    expect(d2.status).toMatchObject({ replicas: 2, updatedReplicas: 2, availableReplicas: 2 });

    setImage('web', 'nginx:1.25');
    const d3 = await rolledOut('web');
    expect(revision(d3)).toBe('3');
    const all = replicaSets('web');
    expect(all).toHaveLength(2);
    const reused = all.find((rs) => rs.metadata.name === first!.metadata.name)!;
    expect(reused.metadata.uid).toBe(first!.metadata.uid);
    expect(revision(reused)).toBe('3');
    expect(reused.metadata.annotations['deployment.kubernetes.io/revision-history']).toBe('1');
    expect(reused.spec.replicas).toBe(2);
    expect(all.find((rs) => rs.metadata.name === second.metadata.name)!.spec.replicas).toBe(0);
  });

  it('treats a template that kubectl rollout undo sends (creationTimestamp: null, resources: {}) as the old one', async () => {
    cluster.api.create(cluster.types.deployments, ns, deployment('web', 'nginx:1.25'));
    await rolledOut('web');
    setImage('web', 'nginx:1.26');
    await rolledOut('web');
    const previous = replicaSets('web').find((rs) => revision(rs) === '1')!;
    const d = getDeployment('web');
    const template = structuredClone(previous.spec.template);
    delete template.metadata.labels['pod-template-hash'];
    template.metadata.creationTimestamp = null;
    d.spec.template = template;
    cluster.api.update(cluster.types.deployments, ns, 'web', d, undefined, {});
    const done = await rolledOut('web');
    expect(revision(done)).toBe('3');
    expect(replicaSets('web')).toHaveLength(2);
    expect(revision(replicaSets('web').find((rs) => rs.metadata.name === previous.metadata.name)!)).toBe('3');
  });

  it('copies the Deployment annotations (change-cause) to the new ReplicaSet, not the revision ones', async () => {
    const d = deployment('web', 'nginx:1.25');
    d.metadata.annotations = { 'kubernetes.io/change-cause': 'first', 'kubectl.kubernetes.io/last-applied-configuration': '{}' };
    cluster.api.create(cluster.types.deployments, ns, d);
    await rolledOut('web');
    const [rs] = replicaSets('web');
    expect(rs!.metadata.annotations['kubernetes.io/change-cause']).toBe('first');
    expect(rs!.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toBeUndefined();
  });

  it('never becomes available with a -broken image and reports ProgressDeadlineExceeded', async () => {
    cluster.api.create(cluster.types.deployments, ns, deployment('bad', 'nginx:1-broken', { replicas: 1, progressDeadlineSeconds: 1 }));
    const d = await waitFor('progress deadline', () => {
      const now = getDeployment('bad');
      return condition(now, 'Progressing')?.reason === 'ProgressDeadlineExceeded' && now;
    }, 5_000, () => getDeployment('bad').status);
    expect(condition(d, 'Progressing')).toMatchObject({ status: 'False', message: expect.stringMatching(/^ReplicaSet "bad-[a-z0-9]+" has timed out progressing\.$/) });
    expect(condition(d, 'Available')).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' });
    expect(d.status).toMatchObject({ replicas: 1, updatedReplicas: 1, unavailableReplicas: 1 });
    expect(d.status.availableReplicas).toBeUndefined();
    expect(d.status.readyReplicas).toBeUndefined();
    expect(deploymentRolloutStatus(d).error).toBe('deployment "bad" exceeded its progress deadline');
    const [pod] = podsOf(replicaSets('bad')[0]!);
    expect(pod!.status.phase).toBe('Running');
    expect(pod!.status.containerStatuses[0].state.waiting.reason).toBe('CrashLoopBackOff');
  });

  it('keeps the old pods serving while a -broken update times out', async () => {
    cluster.api.create(cluster.types.deployments, ns, deployment('web', 'nginx:1.25', { replicas: 2, progressDeadlineSeconds: 1 }));
    await rolledOut('web');
    setImage('web', 'nginx:1.26-broken');
    const d = await waitFor('progress deadline', () => {
      const now = getDeployment('web');
      return condition(now, 'Progressing')?.reason === 'ProgressDeadlineExceeded' && now;
    }, 5_000, () => getDeployment('web').status);
    expect(revision(d)).toBe('2');
    expect(condition(d, 'Available')?.status).toBe('True');
    const rsList = replicaSets('web');
    const newRS = rsList.find((rs) => revision(rs) === '2')!;
    const oldRS = rsList.find((rs) => revision(rs) === '1')!;
    // maxSurge 25% of 2 → 1 extra pod; maxUnavailable 25% of 2 → 0: the old ReplicaSet stays whole.
    expect(newRS.spec.replicas).toBe(1);
    expect(oldRS.spec.replicas).toBe(2);
    expect(d.status).toMatchObject({ replicas: 3, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2, unavailableReplicas: 1 });
    expect(deploymentRolloutStatus(d).error).toMatch(/exceeded its progress deadline/);
  });

  it('recovers from a timed-out rollout when rolled back to the previous template', async () => {
    cluster.api.create(cluster.types.deployments, ns, deployment('web', 'nginx:1.25', { replicas: 2, progressDeadlineSeconds: 1 }));
    await rolledOut('web');
    setImage('web', 'nginx:1.26-broken');
    await waitFor('progress deadline', () => condition(getDeployment('web'), 'Progressing')?.reason === 'ProgressDeadlineExceeded', 5_000);
    setImage('web', 'nginx:1.25');
    const d = await rolledOut('web');
    expect(revision(d)).toBe('3');
    expect(condition(d, 'Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
    const broken = replicaSets('web').find((rs) => rs.spec.template.spec.containers[0].image === 'nginx:1.26-broken')!;
    expect(broken.spec.replicas).toBe(0);
    expect(podsOf(broken)).toHaveLength(0);
  });

  it('scales up and down', async () => {
    cluster.api.create(cluster.types.deployments, ns, deployment('web', 'nginx:1.25', { replicas: 1 }));
    await rolledOut('web');
    const scale = cluster.api.getScale(cluster.types.deployments, ns, 'web');
    cluster.api.update(cluster.types.deployments, ns, 'web', { ...scale, spec: { replicas: 4 } }, 'scale', {});
    let d = await rolledOut('web');
    expect(d.status).toMatchObject({ replicas: 4, availableReplicas: 4 });
    const [rs] = replicaSets('web');
    expect(rs!.metadata.annotations['deployment.kubernetes.io/desired-replicas']).toBe('4');
    expect(podsOf(rs!)).toHaveLength(4);

    d = getDeployment('web');
    d.spec.replicas = 0;
    cluster.api.update(cluster.types.deployments, ns, 'web', d, undefined, {});
    // kubectl rollout status is satisfied at once here (updatedReplicas is not below 0): wait for the pods.
    d = await waitFor('scaled to 0', () => getDeployment('web').status.replicas === undefined && getDeployment('web'), 5_000, () => getDeployment('web').status);
    expect(podsOf(replicaSets('web')[0]!)).toHaveLength(0);
    expect(deploymentRolloutStatus(d).done).toBe(true);
    expect(condition(d, 'Available')?.status).toBe('True');
  });

  it('scales a stuck rollout proportionally across the old and the new ReplicaSet', async () => {
    cluster.api.create(cluster.types.deployments, ns, deployment('web', 'nginx:1', { replicas: 2 }));
    await rolledOut('web');
    setImage('web', 'nginx:2-broken');
    await waitFor('surge pod', () => replicaSets('web').some((rs) => revision(rs) === '2' && rs.spec.replicas === 1));
    const d = getDeployment('web');
    d.spec.replicas = 4;
    cluster.api.update(cluster.types.deployments, ns, 'web', d, undefined, {});
    // 4 replicas + maxSurge 1 = 5 pods at most, split 2:1 as the ReplicaSets were sized (max-replicas 3): 3 old, 2 new.
    await waitFor('proportional', () => {
      const sizes = Object.fromEntries(replicaSets('web').map((rs) => [revision(rs), rs.spec.replicas]));
      return sizes['1'] === 3 && sizes['2'] === 2;
    }, 5_000, () => replicaSets('web').map((rs) => [revision(rs), rs.spec.replicas, rs.metadata.annotations]));
    await settle(cluster.api);
    const rsList = replicaSets('web');
    expect(rsList.every((rs) => rs.metadata.annotations['deployment.kubernetes.io/desired-replicas'] === '4')).toBe(true);
    expect(rsList.every((rs) => rs.metadata.annotations['deployment.kubernetes.io/max-replicas'] === '5')).toBe(true);
  });

  it('deletes old ReplicaSets beyond revisionHistoryLimit, oldest first', async () => {
    cluster.api.create(cluster.types.deployments, ns, deployment('web', 'nginx:1', { replicas: 1, revisionHistoryLimit: 1 }));
    await rolledOut('web');
    for (const image of ['nginx:2', 'nginx:3', 'nginx:4']) {
      setImage('web', image);
      await rolledOut('web');
    }
    await waitFor('pruning', () => replicaSets('web').length === 2, 5_000, () => replicaSets('web').map((rs) => [rs.metadata.name, revision(rs)]));
    expect(replicaSets('web').map(revision).sort()).toEqual(['3', '4']);
  });

  it('recreates: old pods go before new ones come', async () => {
    cluster.api.create(cluster.types.deployments, ns, deployment('web', 'nginx:1', { replicas: 2, strategy: { type: 'Recreate' } }));
    await rolledOut('web');
    const seen: string[] = [];
    const unsubscribe = cluster.api.store.subscribe((e) => {
      if (e.resource === '/pods') seen.push(`${e.type} ${e.object.spec.containers[0].image}`);
    });
    setImage('web', 'nginx:2');
    await rolledOut('web');
    unsubscribe();
    const lastOldDeleted = seen.lastIndexOf('DELETED nginx:1');
    const firstNewAdded = seen.indexOf('ADDED nginx:2');
    expect(lastOldDeleted).toBeGreaterThanOrEqual(0);
    expect(firstNewAdded).toBeGreaterThan(lastOldDeleted);
  });

  it('does not roll out while paused, and does once resumed', async () => {
    cluster.api.create(cluster.types.deployments, ns, deployment('web', 'nginx:1', { replicas: 1 }));
    await rolledOut('web');
    let d = getDeployment('web');
    d.spec.paused = true;
    d.spec.template.spec.containers[0].image = 'nginx:2';
    cluster.api.update(cluster.types.deployments, ns, 'web', d, undefined, {});
    d = await waitFor('paused condition', () => condition(getDeployment('web'), 'Progressing')?.reason === 'DeploymentPaused' && getDeployment('web'));
    expect(condition(d, 'Progressing')).toMatchObject({ status: 'Unknown', message: 'Deployment is paused' });
    await settle(cluster.api);
    expect(replicaSets('web')).toHaveLength(1);
    d = getDeployment('web');
    d.spec.paused = false;
    cluster.api.update(cluster.types.deployments, ns, 'web', d, undefined, {});
    d = await rolledOut('web');
    expect(revision(d)).toBe('2');
  });

  it('deleting the Deployment removes its ReplicaSets and pods', async () => {
    cluster.api.create(cluster.types.deployments, ns, deployment('web', 'nginx:1', { replicas: 2 }));
    await rolledOut('web');
    setImage('web', 'nginx:2');
    await rolledOut('web');
    expect(cluster.api.list(cluster.types.replicasets, ns)).toHaveLength(2);
    cluster.api.delete(cluster.types.deployments, ns, 'web', {});
    await waitFor('cascade', () => cluster.api.list(cluster.types.replicasets, ns).length === 0 && cluster.api.list(cluster.types.pods, ns).length === 0);
  });

  it('adopts orphaned ReplicaSets of a re-created Deployment instead of making new ones', async () => {
    cluster.api.create(cluster.types.deployments, ns, deployment('web', 'nginx:1', { replicas: 1 }));
    await rolledOut('web');
    const [rs] = replicaSets('web');
    cluster.api.delete(cluster.types.deployments, ns, 'web', { propagationPolicy: 'Orphan' });
    await waitFor('orphaned', () => {
      const now = cluster.api.store.get('apps/replicasets', ns, rs!.metadata.name);
      return !cluster.api.store.get('apps/deployments', ns, 'web') && now && !now.metadata.ownerReferences && now;
    });
    const again = cluster.api.create(cluster.types.deployments, ns, deployment('web', 'nginx:1', { replicas: 1 }));
    await rolledOut('web');
    const all = cluster.api.list(cluster.types.replicasets, ns);
    expect(all).toHaveLength(1);
    expect(all[0]!.metadata.uid).toBe(rs!.metadata.uid);
    expect(all[0]!.metadata.ownerReferences[0].uid).toBe(again.metadata.uid);
  });
});
