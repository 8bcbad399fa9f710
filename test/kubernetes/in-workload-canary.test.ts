import { describe, expect, it } from 'vitest';
import { deployment, statefulSet, target, useCluster, within } from './cluster.ts';

const cluster = useCluster();

const livePods = async (namespace: string, labelSelector: string) =>
  (await cluster().core.listNamespacedPod({ namespace, labelSelector })).items.filter((p) => !p.metadata?.deletionTimestamp);

describe('the in-workload canary', () => {
  it('runs the new images on a share of the replicas next to the main Deployment, then promotes them', async () => {
    const c = cluster();
    const ns = await c.namespace('canary');
    await c.apps.createNamespacedDeployment({ namespace: ns, body: deployment('web', { replicas: 5 }) });
    const t = target(ns, 'web');
    await c.driver.waitForRollout(t, { signal: within(), timeoutMs: 10_000 });

    const created = await c.driver.ensureCanary(t, [{ image: 'registry.local/shop/web:1.1.0' }], 20);

    expect(created).toEqual({ name: 'web-canary', replicas: 1, changed: true });
    expect(await c.driver.waitForCanary(t, { signal: within(), timeoutMs: 10_000 })).toEqual({ state: 'done', message: 'deployment "web-canary" successfully rolled out' });
    expect(await c.driver.canaryState(t)).toMatchObject({ state: 'done' });
    const canary = await c.apps.readNamespacedDeployment({ namespace: ns, name: 'web-canary' });
    expect(canary.spec?.selector.matchLabels).toEqual({ app: 'web', 'shipway.dev/canary': 'true' });
    // The app label stays on every pod, so a Service selecting app=web routes to both; the main ReplicaSet keeps its 5.
    expect((await livePods(ns, 'app=web')).map((p) => p.spec?.containers[0]?.image).sort()).toEqual([...Array(5).fill('registry.local/shop/web:1.0.0'), 'registry.local/shop/web:1.1.0']);
    expect(await livePods(ns, 'shipway.dev/canary=true')).toHaveLength(1);
    expect(await c.driver.observe(t)).toMatchObject({ version: '1.0.0', replicas: 5 });

    expect(await c.driver.ensureCanary(t, [{ image: 'registry.local/shop/web:1.1.0' }], 20)).toEqual({ name: 'web-canary', replicas: 1, changed: false });
    const rv = (await c.apps.readNamespacedDeployment({ namespace: ns, name: 'web-canary' })).metadata?.resourceVersion;
    expect(await c.driver.ensureCanary(t, [{ image: 'registry.local/shop/web:1.1.0' }], 50)).toEqual({ name: 'web-canary', replicas: 3, changed: true });
    expect((await c.apps.readNamespacedDeployment({ namespace: ns, name: 'web-canary' })).metadata?.resourceVersion).not.toBe(rv);
    expect(await c.driver.waitForCanary(t, { signal: within(), timeoutMs: 10_000 })).toMatchObject({ state: 'done' });

    const promoted = await c.driver.promoteCanary(t, [{ image: 'registry.local/shop/web:1.1.0' }], 'promote canary', { signal: within(), timeoutMs: 10_000 });

    expect(promoted).toMatchObject({ state: 'done' });
    expect(await c.driver.observe(t)).toMatchObject({ version: '1.1.0', replicas: 5 });
    await expect(c.apps.readNamespacedDeployment({ namespace: ns, name: 'web-canary' })).rejects.toMatchObject({ code: 404 });
    await expect(c.driver.canaryState(t)).rejects.toThrow(`Deployment ${ns}/web-canary not found`);
  });

  it('is removed again for a rollback, and removing it twice is fine', async () => {
    const c = cluster();
    const ns = await c.namespace('canary-abort');
    await c.apps.createNamespacedDeployment({ namespace: ns, body: deployment('web', { replicas: 2 }) });
    const t = target(ns, 'web');
    await c.driver.ensureCanary(t, [{ image: 'registry.local/shop/web:1.1.0-broken' }], 10);
    expect(await c.driver.canaryState(t)).toMatchObject({ state: 'progressing' });

    expect(await c.driver.removeCanary(t)).toEqual({ deleted: true });
    expect(await c.driver.removeCanary(t)).toEqual({ deleted: false });

    await expect(c.apps.readNamespacedDeployment({ namespace: ns, name: 'web-canary' })).rejects.toMatchObject({ code: 404 });
    expect(await c.driver.observe(t)).toMatchObject({ version: '1.0.0' });
  });

  it('refuses workloads other than Deployments, naming the kind', async () => {
    const c = cluster();
    const ns = await c.namespace('canary-sts');
    await c.apps.createNamespacedStatefulSet({ namespace: ns, body: statefulSet('db') });
    const t = target(ns, 'db', { kind: 'StatefulSet' });

    await expect(c.driver.ensureCanary(t, [{ image: 'x:2' }], 10)).rejects.toThrow(`an in-workload canary needs a Deployment; Target ${ns}/db-target has a StatefulSet`);
    await expect(c.driver.removeCanary(t)).rejects.toThrow('needs a Deployment');
  });
});
