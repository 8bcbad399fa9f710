import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { imageTag } from '../../kube-api/controllers/pod-controller.ts';
import type { KubeObject } from '../../kube-api/store.ts';
import { condition, nextEvent, podTemplate, settle, startCluster, waitFor, type Cluster } from './harness.ts';

let cluster: Cluster;
beforeEach(() => {
  cluster = startCluster(50);
});
afterEach(() => cluster.stop());

const ns = 'default';
const getPod = (name: string) => cluster.api.get(cluster.types.pods, ns, name);
const createPod = (name: string, image: string, spec: KubeObject = {}) =>
  cluster.api.create(cluster.types.pods, ns, { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'app', image }], ...spec } });

describe('Pod controller', () => {
  it('reads image tags', () => {
    expect(imageTag('nginx')).toBe('');
    expect(imageTag('nginx:1.25-broken')).toBe('1.25-broken');
    expect(imageTag('localhost:5000/app')).toBe('');
    expect(imageTag('localhost:5000/app:v1-fail@sha256:abc')).toBe('v1-fail');
  });

  it('schedules a pod, shows ContainerCreating, then Running and Ready as a kubelet reports it', async () => {
    const creating = nextEvent(cluster.api, (resource, o) => resource === '/pods' && Boolean(o.status?.containerStatuses));
    createPod('p', 'nginx:1.25');
    const pending = await creating;
    expect(pending.spec.nodeName).toBe('emulator-node');
    expect(pending.status.phase).toBe('Pending');
    expect(pending.status.containerStatuses[0].state).toEqual({ waiting: { reason: 'ContainerCreating' } });
    expect(condition(pending, 'PodScheduled')?.status).toBe('True');
    expect(condition(pending, 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [app]' });

    const pod = await waitFor('running', () => getPod('p').status.phase === 'Running' && getPod('p'));
    expect(pod.status.conditions.map((c: KubeObject) => [c.type, c.status])).toEqual([
      ['PodReadyToStartContainers', 'True'],
      ['Initialized', 'True'],
      ['Ready', 'True'],
      ['ContainersReady', 'True'],
      ['PodScheduled', 'True'],
    ]);
    expect(condition(pod, 'PodScheduled')!.lastTransitionTime).toBe(condition(pending, 'PodScheduled')!.lastTransitionTime);
    expect(pod.status.podIP).toMatch(/^10\.244\.\d+\.\d+$/);
    expect(pod.status.podIPs).toEqual([{ ip: pod.status.podIP }]);
    expect(pod.status.hostIP).toBe('172.18.0.2');
    expect(pod.status.qosClass).toBe('BestEffort');
    expect(pod.status.startTime).toBe(pending.status.startTime);
    const [container] = pod.status.containerStatuses;
    expect(container).toMatchObject({ name: 'app', image: 'nginx:1.25', ready: true, started: true, restartCount: 0, state: { running: { startedAt: expect.any(String) } } });
    expect(container.imageID).toMatch(/^docker\.io\/library\/nginx@sha256:[0-9a-f]{64}$/);
    expect(container.containerID).toMatch(/^containerd:\/\/[0-9a-f]{64}$/);
  });

  it('gives each pod its own IP', async () => {
    for (const name of ['a', 'b', 'c']) createPod(name, 'nginx');
    await waitFor('running', () => ['a', 'b', 'c'].every((n) => getPod(n).status.phase === 'Running'));
    expect(new Set(['a', 'b', 'c'].map((n) => getPod(n).status.podIP)).size).toBe(3);
  });

  it('computes the QoS class', async () => {
    createPod('g', 'nginx', { containers: [{ name: 'app', image: 'nginx', resources: { limits: { cpu: '1', memory: '1Gi' } } }] });
    createPod('b', 'nginx', { containers: [{ name: 'app', image: 'nginx', resources: { requests: { cpu: '100m' } } }] });
    await waitFor('running', () => getPod('g').status.phase === 'Running' && getPod('b').status.phase === 'Running');
    expect(getPod('g').status.qosClass).toBe('Guaranteed');
    expect(getPod('b').status.qosClass).toBe('Burstable');
  });

  it('keeps a -broken container crash-looping: Running, not ready, restartCount going up', async () => {
    createPod('bad', 'app:v2-broken');
    const pod = await waitFor('running', () => getPod('bad').status.phase === 'Running' && getPod('bad'));
    expect(condition(pod, 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady' });
    const [container] = pod.status.containerStatuses;
    expect(container).toMatchObject({ ready: false, started: false, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, reason: 'Error' } } });
    expect(container.state.waiting.message).toMatch(/^back-off \d+s restarting failed container=app pod=bad_default\(/);
    const first = container.restartCount;
    await waitFor('a restart', () => getPod('bad').status.containerStatuses[0].restartCount > first, 3_000);
    expect(getPod('bad').status.phase).toBe('Running');
  });

  it('runs pods with restartPolicy Never to completion: Succeeded, or Failed for a -fail image', async () => {
    createPod('ok', 'busybox', { restartPolicy: 'Never' });
    createPod('ko', 'busybox:1-fail', { restartPolicy: 'Never' });
    const ok = await waitFor('succeeded', () => getPod('ok').status.phase === 'Succeeded' && getPod('ok'));
    expect(ok.status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(condition(ok, 'Ready')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
    const ko = await waitFor('failed', () => getPod('ko').status.phase === 'Failed' && getPod('ko'));
    expect(ko.status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    expect(condition(ko, 'Ready')).toMatchObject({ status: 'False', reason: 'PodFailed' });
    await settle(cluster.api);
    expect(getPod('ok').status.phase).toBe('Succeeded');
  });

  it('reports init containers as completed', async () => {
    createPod('init', 'nginx', { initContainers: [{ name: 'setup', image: 'busybox' }] });
    const pod = await waitFor('running', () => getPod('init').status.phase === 'Running' && getPod('init'));
    expect(pod.status.initContainerStatuses[0]).toMatchObject({ name: 'setup', ready: true, state: { terminated: { exitCode: 0, reason: 'Completed' } } });
  });
});

describe('ReplicaSet controller', () => {
  const rsBody = (replicas: number) => ({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'rs' },
    spec: { replicas, selector: { matchLabels: { app: 'rs' } }, template: podTemplate({ app: 'rs' }, 'nginx') },
  });
  const owned = () => cluster.api.list(cluster.types.pods, ns).filter((p) => p.metadata.ownerReferences?.[0]?.name === 'rs');

  it('keeps spec.replicas pods and reports their status', async () => {
    const rs = cluster.api.create(cluster.types.replicasets, ns, rsBody(3));
    const status = await waitFor('ready', () => cluster.api.get(cluster.types.replicasets, ns, 'rs').status?.availableReplicas === 3 && cluster.api.get(cluster.types.replicasets, ns, 'rs').status);
    expect(status).toEqual({ replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: 1 });
    for (const pod of owned()) {
      expect(pod.metadata.name).toMatch(/^rs-[a-z0-9]{5}$/);
      expect(pod.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    }
    // A deleted pod is replaced.
    cluster.api.delete(cluster.types.pods, ns, owned()[0]!.metadata.name, {});
    await waitFor('replaced', () => owned().length === 3 && cluster.api.get(cluster.types.replicasets, ns, 'rs').status.availableReplicas === 3);
  });

  it('scales down, removing not-ready pods first', async () => {
    // Pods stay Pending for a second here, so the new one is surely not ready when the scale-down comes.
    cluster.stop();
    cluster = startCluster(1_000);
    cluster.api.create(cluster.types.replicasets, ns, rsBody(2));
    await waitFor('ready', () => cluster.api.get(cluster.types.replicasets, ns, 'rs').status?.readyReplicas === 2);
    const rs = cluster.api.get(cluster.types.replicasets, ns, 'rs');
    const added = nextEvent(cluster.api, (resource, o) => resource === '/pods' && o.metadata.ownerReferences?.[0]?.name === 'rs');
    rs.spec.replicas = 3;
    cluster.api.update(cluster.types.replicasets, ns, 'rs', rs, undefined, {});
    const fresh = await added;
    expect(fresh.status.phase).toBe('Pending');
    const again = cluster.api.get(cluster.types.replicasets, ns, 'rs');
    again.spec.replicas = 2;
    cluster.api.update(cluster.types.replicasets, ns, 'rs', again, undefined, {});
    await waitFor('scaled down', () => owned().length === 2);
    expect(owned().map((p) => p.metadata.name)).not.toContain(fresh.metadata.name);
  });

  it('adopts a matching orphan pod instead of creating one', async () => {
    createPod('orphan', 'nginx');
    const orphan = getPod('orphan');
    orphan.metadata.labels = { app: 'rs' };
    cluster.api.update(cluster.types.pods, ns, 'orphan', orphan, undefined, {});
    cluster.api.create(cluster.types.replicasets, ns, rsBody(1));
    await waitFor('ready', () => cluster.api.get(cluster.types.replicasets, ns, 'rs').status?.readyReplicas === 1);
    expect(owned().map((p) => p.metadata.name)).toEqual(['orphan']);
  });

  it('counts pods available only after minReadySeconds', async () => {
    const body = rsBody(1);
    (body.spec as KubeObject).minReadySeconds = 1;
    cluster.api.create(cluster.types.replicasets, ns, body);
    const ready = await waitFor('ready', () => cluster.api.get(cluster.types.replicasets, ns, 'rs').status?.readyReplicas === 1 && Date.now());
    expect(cluster.api.get(cluster.types.replicasets, ns, 'rs').status.availableReplicas).toBeUndefined();
    await waitFor('available', () => cluster.api.get(cluster.types.replicasets, ns, 'rs').status?.availableReplicas === 1, 3_000);
    expect(Date.now() - ready).toBeGreaterThan(0);
  });
});
