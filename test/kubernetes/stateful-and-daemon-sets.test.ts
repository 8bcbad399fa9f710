import { describe, expect, it } from 'vitest';
import { daemonSet, statefulSet, target, useCluster, within, type Obj } from './cluster.ts';

const cluster = useCluster();

const kinds = [
  { kind: 'StatefulSet' as const, manifest: statefulSet, create: (ns: string, body: Obj) => cluster().apps.createNamespacedStatefulSet({ namespace: ns, body }), replicas: 2 },
  { kind: 'DaemonSet' as const, manifest: daemonSet, create: (ns: string, body: Obj) => cluster().apps.createNamespacedDaemonSet({ namespace: ns, body }), replicas: 1 },
];

describe.each(kinds)('the workload driver on a $kind', ({ kind, manifest, create, replicas }) => {
  it('sets an image, follows the rollout and rolls back through ControllerRevisions as kubectl does', async () => {
    const c = cluster();
    const ns = await c.namespace(kind.toLowerCase());
    await create(ns, manifest('db'));
    const t = target(ns, 'db', { kind });
    expect(await c.driver.waitForRollout(t, { signal: within(), timeoutMs: 10_000 })).toMatchObject({ state: 'done' });
    expect(await c.driver.observe(t)).toMatchObject({ kind, version: '1.0.0', replicas, revision: 1 });

    expect((await c.driver.setImages(t, [{ image: 'registry.local/shop/web:1.1.0' }], 'release 1.1.0')).changed).toBe(true);
    expect(await c.driver.waitForRollout(t, { signal: within(), timeoutMs: 10_000 })).toMatchObject({ state: 'done' });
    expect(await c.driver.observe(t)).toMatchObject({ version: '1.1.0', revision: 2, rollout: { state: 'done' } });
    expect((await c.driver.setImages(t, [{ image: 'registry.local/shop/web:1.1.0' }], 'again')).changed).toBe(false);

    const undone = await c.driver.rollback(t, { cause: 'undo 1.1.0' });
    expect(undone.images).toEqual({ web: 'registry.local/shop/web:1.0.0' });
    expect(await c.driver.waitForRollout(t, { signal: within(), timeoutMs: 10_000 })).toMatchObject({ state: 'done' });
    // The controller renumbers the revision it returns to, as on a cluster: undo again goes forward to 1.1.0.
    expect(await c.driver.observe(t)).toMatchObject({ version: '1.0.0', revision: 3 });
    const pods = (await c.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=db' })).items.filter((p) => !p.metadata?.deletionTimestamp);
    expect(pods.map((p) => p.spec?.containers[0]?.image)).toEqual(Array(replicas).fill('registry.local/shop/web:1.0.0'));

    expect((await c.driver.rollback(t, { cause: 'undo the undo' })).images).toEqual({ web: 'registry.local/shop/web:1.1.0' });
    expect((await c.driver.rollback(t, { toVersion: '0.9.0', cause: 'pin' })).images).toEqual({ web: 'registry.local/shop/web:0.9.0' });
    expect(await c.driver.waitForRollout(t, { signal: within(), timeoutMs: 10_000 })).toMatchObject({ state: 'done' });
    expect(await c.driver.observe(t)).toMatchObject({ version: '0.9.0', revision: 5 });
  });

  it('deletes ControllerRevisions beyond the newest N and keeps the current one', async () => {
    const c = cluster();
    const ns = await c.namespace(`${kind.toLowerCase()}-cleanup`);
    await create(ns, manifest('db'));
    const t = target(ns, 'db', { kind });
    for (const version of ['1.1.0', '1.2.0', '1.3.0']) {
      await c.driver.setImages(t, [{ image: `registry.local/shop/web:${version}` }], version);
      expect(await c.driver.waitForRollout(t, { signal: within(), timeoutMs: 10_000 })).toMatchObject({ state: 'done' });
    }
    const revisions = async () => (await c.apps.listNamespacedControllerRevision({ namespace: ns })).items.map((r) => Number(r.revision)).sort();
    expect(await revisions()).toEqual([1, 2, 3, 4]);

    expect((await c.driver.cleanup(t, 1)).deleted).toHaveLength(3);

    expect(await revisions()).toEqual([4]);
    expect(await c.driver.observe(t)).toMatchObject({ version: '1.3.0', revision: 4 });
  });
});
