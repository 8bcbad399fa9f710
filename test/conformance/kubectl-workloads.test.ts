/**
 * Workloads through kubectl: a Deployment's ReplicaSets and Pods, `wait --for=condition=Available`,
 * `rollout status|history|undo`, `scale`, `get -w`, StatefulSet and Job status, and ownerReference garbage
 * collection (background, foreground, orphan).
 */
import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { eventually, json, useCluster, type Obj } from './cluster.ts';
import { IMAGE, IMAGE_NEXT, JOB_IMAGE } from './images.ts';

const c = useCluster('workloads');

const deployment = (name: string, replicas: number, image = IMAGE) =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'web', image }] } },
    },
  });

const get = async (kind: string, name: string): Promise<Obj> => json(await c.kubectlOk(['get', kind, name, '-n', c.ns, '-o', 'json']));
const items = async (kind: string, selector: string): Promise<Obj[]> => json(await c.kubectlOk(['get', kind, '-n', c.ns, '-l', selector, '-o', 'json'])).items;
const live = (list: Obj[]) => list.filter((o) => !o.metadata.deletionTimestamp);

describe('kubectl: Deployments', () => {
  it('rolls out: ReplicaSet and Pods owned in a chain, wait for Available, rollout status', async () => {
    await c.kubectlOk(['apply', '-n', c.ns, '-f', '-'], { input: deployment('web', 2) });
    await c.kubectlOk(['wait', '--for=condition=Available', 'deployment/web', '-n', c.ns, '--timeout=90s'], { timeoutMs: 100_000 });
    const status = await c.kubectlOk(['rollout', 'status', 'deployment/web', '-n', c.ns, '--timeout=90s'], { timeoutMs: 100_000 });
    expect(status).toMatch(/deployment "web" successfully rolled out/);

    const d = await get('deployment', 'web');
    expect(d.status).toMatchObject({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 });
    expect(d.status.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' }),
        expect.objectContaining({ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }),
      ]),
    );
    const [rs, ...otherRs] = await items('replicasets', 'app=web');
    expect(otherRs).toEqual([]);
    expect(rs!.metadata.name).toMatch(/^web-[a-z0-9]+$/);
    expect(rs!.metadata.labels['pod-template-hash']).toBeTruthy();
    expect(rs!.metadata.annotations['deployment.kubernetes.io/revision']).toBe('1');
    expect(rs!.metadata.ownerReferences).toEqual([expect.objectContaining({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: d.metadata.uid, controller: true, blockOwnerDeletion: true })]);
    const pods = live(await items('pods', 'app=web'));
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(pod.metadata.ownerReferences[0]).toMatchObject({ kind: 'ReplicaSet', name: rs!.metadata.name, uid: rs!.metadata.uid, controller: true });
      expect(pod.status.phase).toBe('Running');
      expect(pod.status.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Ready', status: 'True' })]));
    }
    const table = await c.kubectlOk(['get', 'deployment', 'web', '-n', c.ns]);
    expect(table).toMatch(/^web\s+2\/2\s+2\s+2\s+\d+s$/m);
    const podTable = await c.kubectlOk(['get', 'pods', '-l', 'app=web', '-n', c.ns, '--no-headers']);
    expect(podTable.trim().split('\n').filter((l) => /\s1\/1\s+Running\s/.test(l))).toHaveLength(2);
  });

  it('changes the image: a new revision, rollout history, and rollout undo brings the image back', async () => {
    await c.kubectlOk(['set', 'image', 'deployment/web', `web=${IMAGE_NEXT}`, '-n', c.ns]);
    await c.kubectlOk(['rollout', 'status', 'deployment/web', '-n', c.ns, '--timeout=90s'], { timeoutMs: 100_000 });
    let d = await get('deployment', 'web');
    expect(d.spec.template.spec.containers[0].image).toBe(IMAGE_NEXT);
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('2');
    expect(d.status.observedGeneration).toBe(d.metadata.generation);

    const replicaSets = await items('replicasets', 'app=web');
    expect(replicaSets).toHaveLength(2);
    const byRevision = Object.fromEntries(replicaSets.map((rs) => [rs.metadata.annotations['deployment.kubernetes.io/revision'], rs]));
    expect(byRevision['1'].spec.replicas).toBe(0);
    expect(byRevision['2'].spec.replicas).toBe(2);
    expect(byRevision['2'].spec.template.spec.containers[0].image).toBe(IMAGE_NEXT);

    const history = await c.kubectlOk(['rollout', 'history', 'deployment/web', '-n', c.ns]);
    expect(history).toMatch(/^REVISION\s+CHANGE-CAUSE$/m);
    expect(history).toMatch(/^1\s+<none>$/m);
    expect(history).toMatch(/^2\s+<none>$/m);
    const revision1 = await c.kubectlOk(['rollout', 'history', 'deployment/web', '--revision=1', '-n', c.ns]);
    expect(revision1).toContain(`Image:\t${IMAGE}`);

    const undo = await c.kubectlOk(['rollout', 'undo', 'deployment/web', '-n', c.ns]);
    expect(undo).toMatch(/deployment\.apps\/web rolled back/);
    await c.kubectlOk(['rollout', 'status', 'deployment/web', '-n', c.ns, '--timeout=90s'], { timeoutMs: 100_000 });
    d = await get('deployment', 'web');
    expect(d.spec.template.spec.containers[0].image).toBe(IMAGE);
    // The old ReplicaSet is reused with a new revision, as on a real cluster.
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('3');
    const after = await items('replicasets', 'app=web');
    expect(after).toHaveLength(2);
    expect(after.find((rs) => rs.metadata.name === byRevision['1'].metadata.name)!.metadata.annotations['deployment.kubernetes.io/revision']).toBe('3');
    expect(await c.kubectlOk(['rollout', 'history', 'deployment/web', '-n', c.ns])).toMatch(/^2\s+<none>\n3\s+<none>$/m);
  });

  it('scales up and down', async () => {
    await c.kubectlOk(['scale', 'deployment/web', '--replicas=3', '-n', c.ns]);
    await c.kubectlOk(['rollout', 'status', 'deployment/web', '-n', c.ns, '--timeout=90s'], { timeoutMs: 100_000 });
    expect((await get('deployment', 'web')).status.readyReplicas).toBe(3);
    await eventually(async () => live(await items('pods', 'app=web')).length === 3, '3 pods');

    await c.kubectlOk(['scale', 'deployment/web', '--replicas=1', '-n', c.ns]);
    await eventually(async () => {
      const d = await get('deployment', 'web');
      return d.status.replicas === 1 && d.status.availableReplicas === 1 && live(await items('pods', 'app=web')).length === 1;
    }, 'the deployment to scale down to 1', 60_000);
    const scale = json(await c.kubectlOk(['get', 'deployment', 'web', '-n', c.ns, '--subresource=scale', '-o', 'json']));
    expect(scale).toMatchObject({ kind: 'Scale', spec: { replicas: 1 }, status: { replicas: 1, selector: 'app=web' } });
  });

  it('kubectl get -w sees an update', async () => {
    await c.kubectlOk(['create', 'configmap', 'watched', '--from-literal=v=1', '-n', c.ns]);
    const watcher = c.cluster.kubectlSpawn(['get', 'configmap', 'watched', '-n', c.ns, '-w', '-o', 'jsonpath={.data.v}{"\\n"}']);
    try {
      const output = collect(watcher);
      await eventually(() => output.text.split('\n').includes('1'), 'the watch to print the current value', 20_000, 50);
      await c.kubectlOk(['patch', 'configmap', 'watched', '-n', c.ns, '--type=merge', '-p', '{"data":{"v":"2"}}']);
      await eventually(() => output.text.split('\n').includes('2'), 'the watch to print the update', 20_000, 50);
    } finally {
      watcher.kill('SIGKILL');
    }
  });

  it('kubectl get -w --output-watch-events prints the event types', async () => {
    const watcher = c.cluster.kubectlSpawn(['get', 'configmaps', '-n', c.ns, '-w', '--output-watch-events', '--watch-only']);
    try {
      const output = collect(watcher);
      await new Promise((r) => setTimeout(r, 500));
      await eventually(async () => {
        await c.kubectl(['create', 'configmap', 'events-seen', '-n', c.ns]);
        return /ADDED\s+events-seen/.test(output.text);
      }, 'the ADDED event', 20_000, 500);
      await c.kubectlOk(['delete', 'configmap', 'events-seen', '-n', c.ns]);
      await eventually(() => /DELETED\s+events-seen/.test(output.text), 'the DELETED event', 20_000, 50);
    } finally {
      watcher.kill('SIGKILL');
    }
  });
});

describe('kubectl: StatefulSets and Jobs', () => {
  it('a StatefulSet rolls out with ordinal pods and reports its status', async () => {
    const sts = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db' },
      spec: {
        serviceName: 'db',
        replicas: 2,
        selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' } }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'db', image: IMAGE }] } },
      },
    };
    await c.kubectlOk(['apply', '-n', c.ns, '-f', '-'], { input: JSON.stringify(sts) });
    const out = await c.kubectlOk(['rollout', 'status', 'statefulset/db', '-n', c.ns, '--timeout=90s'], { timeoutMs: 100_000 });
    expect(out).toMatch(/partitioned roll out complete: 2 new pods have been updated|statefulset rolling update complete 2 pods at revision/);
    const status = (await get('statefulset', 'db')).status;
    expect(status).toMatchObject({ replicas: 2, readyReplicas: 2, currentReplicas: 2, updatedReplicas: 2, availableReplicas: 2, observedGeneration: 1 });
    expect(status.currentRevision).toBe(status.updateRevision);
    const names = live(await items('pods', 'app=db')).map((p) => p.metadata.name).sort();
    expect(names).toEqual(['db-0', 'db-1']);
  });

  it('a DaemonSet runs a pod on every node and reports its status', async () => {
    const ds = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent' },
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: {
          metadata: { labels: { app: 'agent' } },
          spec: { terminationGracePeriodSeconds: 0, tolerations: [{ operator: 'Exists' }], containers: [{ name: 'agent', image: IMAGE }] },
        },
      },
    };
    await c.kubectlOk(['apply', '-n', c.ns, '-f', '-'], { input: JSON.stringify(ds) });
    const out = await c.kubectlOk(['rollout', 'status', 'daemonset/agent', '-n', c.ns, '--timeout=90s'], { timeoutMs: 100_000 });
    expect(out).toMatch(/daemon set "agent" successfully rolled out/);
    const nodes = json(await c.kubectlOk(['get', 'nodes', '-o', 'json'])).items as Obj[];
    const status = (await get('daemonset', 'agent')).status;
    expect(status.desiredNumberScheduled).toBeGreaterThanOrEqual(1);
    expect(status.desiredNumberScheduled).toBeLessThanOrEqual(nodes.length);
    expect(status).toMatchObject({ currentNumberScheduled: status.desiredNumberScheduled, numberReady: status.desiredNumberScheduled, updatedNumberScheduled: status.desiredNumberScheduled, numberAvailable: status.desiredNumberScheduled, observedGeneration: 1 });
    const pods = live(await items('pods', 'app=agent'));
    expect(pods).toHaveLength(status.desiredNumberScheduled);
    const nodeNames = nodes.map((n) => n.metadata.name);
    for (const pod of pods) expect(nodeNames).toContain(pod.spec.nodeName);
  });

  it('a Job runs to completion and `kubectl wait --for=condition=Complete` sees it', async () => {
    await c.kubectlOk(['create', 'job', 'once', `--image=${JOB_IMAGE}`, '-n', c.ns, '--', 'sh', '-c', 'true']);
    await c.kubectlOk(['wait', '--for=condition=Complete', 'job/once', '-n', c.ns, '--timeout=90s'], { timeoutMs: 100_000 });
    const job = await get('job', 'once');
    expect(job.status.succeeded).toBe(1);
    expect(job.status.completionTime).toBeTruthy();
    expect(await c.kubectlOk(['get', 'job', 'once', '-n', c.ns, '--no-headers'])).toMatch(/^once\s+Complete\s+1\/1\s+/m);
  });
});

describe('kubectl delete: ownerReference garbage collection', () => {
  /** An owner ConfigMap and a dependent that points at it; works for any kind on any cluster. */
  async function ownerAndDependent(prefix: string, dependentFinalizers: string[] = []): Promise<{ owner: Obj; dependent: string }> {
    await c.kubectlOk(['create', 'configmap', `${prefix}-owner`, '-n', c.ns]);
    const owner = await get('configmap', `${prefix}-owner`);
    const dependent = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${prefix}-dependent`, finalizers: dependentFinalizers, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: owner.metadata.name, uid: owner.metadata.uid, blockOwnerDeletion: true }] },
    };
    await c.kubectlOk(['create', '-n', c.ns, '-f', '-'], { input: JSON.stringify(dependent) });
    return { owner, dependent: `${prefix}-dependent` };
  }
  const gone = async (name: string) => (await c.kubectl(['get', 'configmap', name, '-n', c.ns])).code !== 0;

  it('background (default): the owner goes at once, its dependents after', async () => {
    const { dependent } = await ownerAndDependent('bg');
    await c.kubectlOk(['delete', 'configmap', 'bg-owner', '-n', c.ns]);
    expect(await gone('bg-owner')).toBe(true);
    await eventually(() => gone(dependent), 'the dependent to be collected', 60_000, 200);
  });

  it('foreground: the owner waits, marked foregroundDeletion, until its blocking dependents are gone', async () => {
    const { dependent } = await ownerAndDependent('fg', ['conformance.shipway.dev/hold']);
    await c.kubectlOk(['delete', 'configmap', 'fg-owner', '-n', c.ns, '--cascade=foreground', '--wait=false']);
    const owner = await eventually(async () => {
      const o = await get('configmap', 'fg-owner');
      return o.metadata.deletionTimestamp ? o : undefined;
    }, 'the owner to be marked for deletion');
    expect(owner.metadata.finalizers).toContain('foregroundDeletion');
    const held = await eventually(async () => {
      const d = await get('configmap', dependent);
      return d.metadata.deletionTimestamp ? d : undefined;
    }, 'the dependent to be marked for deletion', 60_000, 200);
    expect(held.metadata.finalizers).toEqual(['conformance.shipway.dev/hold']);
    expect(await gone('fg-owner')).toBe(false);

    await c.kubectlOk(['patch', 'configmap', dependent, '-n', c.ns, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await eventually(async () => (await gone(dependent)) && (await gone('fg-owner')), 'owner and dependent to go', 60_000, 200);
  });

  it('orphan: the owner goes, its dependents stay without the ownerReference', async () => {
    const { dependent } = await ownerAndDependent('orphan');
    await c.kubectlOk(['delete', 'configmap', 'orphan-owner', '-n', c.ns, '--cascade=orphan']);
    await eventually(() => gone('orphan-owner'), 'the owner to go');
    const d = await eventually(async () => {
      const o = await get('configmap', dependent);
      return (o.metadata.ownerReferences ?? []).length === 0 ? o : undefined;
    }, 'the ownerReference to be removed');
    expect(d.metadata.deletionTimestamp).toBeUndefined();
  });

  it('deleting a Deployment (background, foreground, orphan) cascades to ReplicaSets and Pods accordingly', async () => {
    for (const name of ['gc-bg', 'gc-fg', 'gc-orphan']) await c.kubectlOk(['apply', '-n', c.ns, '-f', '-'], { input: deployment(name, 1) });
    for (const name of ['gc-bg', 'gc-fg', 'gc-orphan']) await c.kubectlOk(['rollout', 'status', `deployment/${name}`, '-n', c.ns, '--timeout=90s'], { timeoutMs: 100_000 });

    await c.kubectlOk(['delete', 'deployment', 'gc-bg', '-n', c.ns]);
    await c.kubectlOk(['delete', 'deployment', 'gc-fg', '-n', c.ns, '--cascade=foreground', '--timeout=60s'], { timeoutMs: 70_000 });
    // Foreground: once the Deployment is gone, so are its ReplicaSet and Pods.
    expect(await items('replicasets', 'app=gc-fg')).toEqual([]);
    expect(live(await items('pods', 'app=gc-fg'))).toEqual([]);
    await eventually(async () => (await items('replicasets', 'app=gc-bg')).length === 0 && live(await items('pods', 'app=gc-bg')).length === 0, 'the background cascade', 60_000, 200);

    const [rs] = await items('replicasets', 'app=gc-orphan');
    await c.kubectlOk(['delete', 'deployment', 'gc-orphan', '-n', c.ns, '--cascade=orphan']);
    const orphaned = await eventually(async () => {
      const [r] = await items('replicasets', 'app=gc-orphan');
      return r && (r.metadata.ownerReferences ?? []).length === 0 ? r : undefined;
    }, 'the ReplicaSet to be orphaned');
    expect(orphaned.metadata.uid).toBe(rs!.metadata.uid);
    expect(live(await items('pods', 'app=gc-orphan'))).toHaveLength(1);
  });
});

function collect(child: ChildProcess): { text: string } {
  const output = { text: '' };
  child.stdout?.on('data', (chunk: Buffer) => (output.text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output.text += chunk.toString()));
  return output;
}
