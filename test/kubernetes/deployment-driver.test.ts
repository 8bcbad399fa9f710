import { describe, expect, it } from 'vitest';
import { WorkloadNotFoundError } from '../../operator/src/kubernetes/api-errors.ts';
import { deployment, target, useCluster, within } from './cluster.ts';

const cluster = useCluster();

async function rolledOut(namespace: string, name: string, o: Parameters<typeof deployment>[1] = {}) {
  const c = cluster();
  await c.apps.createNamespacedDeployment({ namespace, body: deployment(name, o) });
  const t = target(namespace, name);
  expect(await c.driver.waitForRollout(t, { signal: within(), timeoutMs: 10_000 })).toMatchObject({ state: 'done' });
  return t;
}

describe('the workload driver on a Deployment', () => {
  it('sets an image, follows the rollout to done and then observes the new version', async () => {
    const c = cluster();
    const ns = await c.namespace('set-image');
    const t = await rolledOut(ns, 'web', { sidecars: [{ name: 'proxy', image: 'registry.local/proxy:7' }] });

    const result = await c.driver.setImages(t, [{ image: 'registry.local/shop/web:1.1.0' }], 'release shop-1-1-0');
    expect(result).toEqual({ changed: true, previous: { web: 'registry.local/shop/web:1.0.0', proxy: 'registry.local/proxy:7' } });
    const progress: string[] = [];
    const state = await c.driver.waitForRollout(t, { signal: within(), timeoutMs: 10_000, onProgress: (m) => progress.push(m) });

    expect(state).toEqual({ state: 'done', message: 'deployment "web" successfully rolled out' });
    expect(progress.at(-1)).toBe('deployment "web" successfully rolled out');
    expect(new Set(progress).size).toBe(progress.length);
    const observed = await c.driver.observe(t);
    expect(observed).toMatchObject({ kind: 'Deployment', version: '1.1.0', replicas: 2, revision: 2, rollout: { state: 'done' } });
    expect(observed.images).toEqual({ web: 'registry.local/shop/web:1.1.0', proxy: 'registry.local/proxy:7' });
    const live = await c.apps.readNamespacedDeployment({ namespace: ns, name: 'web' });
    expect(live.metadata?.annotations?.['kubernetes.io/change-cause']).toBe('release shop-1-1-0');
  });

  it('writes nothing when the images are already set, so repeating the step after a restart changes nothing', async () => {
    const c = cluster();
    const ns = await c.namespace('idempotent');
    const t = await rolledOut(ns, 'web');
    await c.driver.setImages(t, [{ container: 'web', image: 'registry.local/shop/web:1.1.0' }], 'release');
    await c.driver.waitForRollout(t, { signal: within(), timeoutMs: 10_000 });
    const before = await c.apps.readNamespacedDeployment({ namespace: ns, name: 'web' });

    const again = await c.driver.setImages(t, [{ image: 'registry.local/shop/web:1.1.0' }], 'release, repeated');

    expect(again).toEqual({ changed: false, previous: { web: 'registry.local/shop/web:1.1.0' } });
    const after = await c.apps.readNamespacedDeployment({ namespace: ns, name: 'web' });
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(after.metadata?.annotations?.['kubernetes.io/change-cause']).toBe('release');
  });

  it('changes only the named container and leaves the others alone', async () => {
    const c = cluster();
    const ns = await c.namespace('sidecar');
    await c.apps.createNamespacedDeployment({ namespace: ns, body: deployment('web', { sidecars: [{ name: 'proxy', image: 'registry.local/proxy:7' }] }) });
    const t = target(ns, 'web', { container: 'proxy' });

    await c.driver.setImages(t, [{ image: 'registry.local/proxy:8' }], 'proxy upgrade');

    const observed = await c.driver.observe(t);
    expect(observed.images).toEqual({ web: 'registry.local/shop/web:1.0.0', proxy: 'registry.local/proxy:8' });
    expect(observed.version).toBe('8');
  });

  it('reports a rollout that cannot become ready as failed with ProgressDeadlineExceeded', async () => {
    const c = cluster();
    const ns = await c.namespace('broken');
    const t = await rolledOut(ns, 'web', { progressDeadlineSeconds: 1 });

    await c.driver.setImages(t, [{ image: 'registry.local/shop/web:1.1.0-broken' }], 'bad release');
    const state = await c.driver.waitForRollout(t, { signal: within(), timeoutMs: 10_000 });

    expect(state).toEqual({ state: 'failed', reason: 'ProgressDeadlineExceeded', message: 'deployment "web" exceeded its progress deadline' });
  });

  it('gives up at its timeout with the last progress message', async () => {
    const c = cluster();
    const ns = await c.namespace('timeout');
    const t = await rolledOut(ns, 'web');
    await c.driver.setImages(t, [{ image: 'registry.local/shop/web:1.1.0-broken' }], 'bad release');

    const state = await c.driver.waitForRollout(t, { signal: within(), timeoutMs: 400 });

    expect(state).toMatchObject({ state: 'failed', reason: 'Timeout' });
    expect(state.message).toMatch(/within 400 ms; last status: Waiting for deployment "web" rollout to finish/);
  });

  it('rejects a wait only when it is aborted', async () => {
    const c = cluster();
    const ns = await c.namespace('abort');
    const t = await rolledOut(ns, 'web');
    await c.driver.setImages(t, [{ image: 'registry.local/shop/web:1.1.0-broken' }], 'bad release');
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('release cancelled')), 100);

    await expect(c.driver.waitForRollout(t, { signal: controller.signal })).rejects.toThrow('release cancelled');
  });

  it('rolls back to the previous revision like kubectl rollout undo, and to an explicit version', async () => {
    const c = cluster();
    const ns = await c.namespace('rollback');
    const t = await rolledOut(ns, 'web', { progressDeadlineSeconds: 1 });
    await c.driver.setImages(t, [{ image: 'registry.local/shop/web:1.1.0' }], 'release 1.1.0');
    await c.driver.waitForRollout(t, { signal: within(), timeoutMs: 10_000 });
    await c.driver.setImages(t, [{ image: 'registry.local/shop/web:1.2.0-broken' }], 'release 1.2.0');
    expect(await c.driver.waitForRollout(t, { signal: within(), timeoutMs: 10_000 })).toMatchObject({ state: 'failed' });

    const undone = await c.driver.rollback(t, { cause: 'rollback of 1.2.0' });

    expect(undone.images).toEqual({ web: 'registry.local/shop/web:1.1.0' });
    expect(await c.driver.waitForRollout(t, { signal: within(), timeoutMs: 10_000 })).toMatchObject({ state: 'done' });
    const afterUndo = await c.driver.observe(t);
    expect(afterUndo).toMatchObject({ version: '1.1.0', revision: 4 });
    const live = await c.apps.readNamespacedDeployment({ namespace: ns, name: 'web' });
    expect(live.metadata?.annotations?.['kubernetes.io/change-cause']).toBe('rollback of 1.2.0');
    expect(live.spec?.template.metadata?.labels).toEqual({ app: 'web' });

    const pinned = await c.driver.rollback(t, { toVersion: '1.0.0', cause: 'back to 1.0.0' });
    expect(pinned.images).toEqual({ web: 'registry.local/shop/web:1.0.0' });
    expect(await c.driver.waitForRollout(t, { signal: within(), timeoutMs: 10_000 })).toMatchObject({ state: 'done' });
    expect(await c.driver.observe(t)).toMatchObject({ version: '1.0.0', revision: 5 });
  });

  it('deletes old ReplicaSets beyond the newest N and never the current one', async () => {
    const c = cluster();
    const ns = await c.namespace('cleanup');
    const t = await rolledOut(ns, 'web');
    for (const version of ['1.1.0', '1.2.0', '1.3.0']) {
      await c.driver.setImages(t, [{ image: `registry.local/shop/web:${version}` }], version);
      await c.driver.waitForRollout(t, { signal: within(), timeoutMs: 10_000 });
    }
    const revisions = async () =>
      (await c.apps.listNamespacedReplicaSet({ namespace: ns })).items
        .filter((rs) => !rs.metadata?.deletionTimestamp)
        .map((rs) => rs.spec?.template?.spec?.containers[0]?.image)
        .sort();
    expect(await revisions()).toHaveLength(4);

    const { deleted } = await c.driver.cleanup(t, 2);

    expect(deleted).toHaveLength(2);
    expect(await revisions()).toEqual(['registry.local/shop/web:1.2.0', 'registry.local/shop/web:1.3.0']);
    expect((await c.driver.cleanup(t, 0)).deleted).toHaveLength(1);
    expect(await revisions()).toEqual(['registry.local/shop/web:1.3.0']);
    expect(await c.driver.cleanup(t, 0)).toEqual({ deleted: [] });
  });

  it('names the workload it cannot find', async () => {
    const c = cluster();
    const ns = await c.namespace('missing');
    const t = target(ns, 'nowhere');

    await expect(c.driver.observe(t)).rejects.toThrow(WorkloadNotFoundError);
    await expect(c.driver.observe(t)).rejects.toThrow(`Deployment ${ns}/nowhere not found`);
    await expect(c.driver.setImages(t, [{ image: 'x:1' }], 'x')).rejects.toThrow(`Deployment ${ns}/nowhere not found`);
    expect(await c.driver.waitForRollout(t, { signal: within(), timeoutMs: 1000 })).toEqual({ state: 'failed', reason: 'NotFound', message: `Deployment ${ns}/nowhere not found` });
  });
});
