import { describe, expect, it } from 'vitest';
import { deployment, target, useCluster, within } from './cluster.ts';

const cluster = useCluster();

const image = (version: string) => `registry.local/shop/web:${version}`;

async function serviceAndDeployment(prefix: string) {
  const c = cluster();
  const ns = await c.namespace(prefix);
  await c.apps.createNamespacedDeployment({ namespace: ns, body: deployment('web', { replicas: 3 }) });
  await c.core.createNamespacedService({ namespace: ns, body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } } });
  const t = target(ns, 'web', { service: 'web' });
  expect(await c.driver.waitForRollout(t, { signal: within(), timeoutMs: 10_000 })).toMatchObject({ state: 'done' });
  return { c, ns, t };
}

describe('blue-green', () => {
  it('deploys the new version beside the live one, switches the Service selector, then retires the old colour', async () => {
    const { c, ns, t } = await serviceAndDeployment('bg');
    const selector = async () => (await c.core.readNamespacedService({ namespace: ns, name: 'web' })).spec?.selector;
    const images = async (labelSelector: string) =>
      (await c.core.listNamespacedPod({ namespace: ns, labelSelector })).items
        .filter((p) => !p.metadata?.deletionTimestamp)
        .map((p) => p.spec?.containers[0]?.image)
        .sort();

    const green = await c.driver.deployGreen(t, [{ image: image('1.1.0') }], { signal: within(), timeoutMs: 10_000 });

    expect(green).toMatchObject({ color: 'green', name: 'web-green', pinned: true });
    // Pinned before the green pods existed: the Service only ever selected the live colour.
    expect(await selector()).toEqual({ app: 'web', 'shipway.dev/color': 'blue' });
    expect(await c.driver.waitForRollout(green.target, { signal: within(), timeoutMs: 10_000 })).toMatchObject({ state: 'done' });
    expect(await images('app=web,shipway.dev/color=green')).toEqual(Array(3).fill(image('1.1.0')));
    expect(await images('app=web,shipway.dev/color=blue')).toEqual(Array(3).fill(image('1.0.0')));
    expect(await c.driver.observe(t)).toMatchObject({ version: '1.0.0' });
    const greenVersion = async () => (await c.apps.readNamespacedDeployment({ namespace: ns, name: 'web-green' })).metadata?.resourceVersion;
    const before = await greenVersion();
    expect((await c.driver.deployGreen(t, [{ image: image('1.1.0') }])).pinned).toBe(false);
    expect(await greenVersion()).toBe(before);

    expect(await c.driver.switchService(t)).toEqual({ live: 'green', changed: true });
    expect(await c.driver.switchService(t)).toEqual({ live: 'green', changed: false });
    expect(await selector()).toEqual({ app: 'web', 'shipway.dev/color': 'green' });
    // The Target now observes the colour that serves.
    expect(await c.driver.observe(t)).toMatchObject({ version: '1.1.0', replicas: 3 });

    expect(await c.driver.finishBlueGreen(t, true)).toEqual({ live: 'green', changed: true });
    expect(await c.driver.finishBlueGreen(t, true)).toEqual({ live: 'green', changed: false });
    expect((await c.apps.readNamespacedDeployment({ namespace: ns, name: 'web' })).spec?.replicas).toBe(0);

    // The next release goes to blue, the Target's own Deployment, and finishing without keeping deletes green.
    const blue = await c.driver.deployGreen(t, [{ image: image('1.2.0') }], { signal: within(), timeoutMs: 10_000 });
    expect(blue).toMatchObject({ color: 'blue', name: 'web', pinned: false });
    expect(await c.driver.waitForRollout(blue.target, { signal: within(), timeoutMs: 10_000 })).toMatchObject({ state: 'done' });
    expect(await c.driver.switchService(t)).toEqual({ live: 'blue', changed: true });
    expect(await c.driver.finishBlueGreen(t, false)).toEqual({ live: 'blue', changed: true });
    await expect(c.apps.readNamespacedDeployment({ namespace: ns, name: 'web-green' })).rejects.toMatchObject({ code: 404 });
    expect(await c.driver.observe(t)).toMatchObject({ version: '1.2.0', replicas: 3 });
    expect(await selector()).toEqual({ app: 'web', 'shipway.dev/color': 'blue' });
  });

  it('refuses to switch to a colour that has not rolled out', async () => {
    const { c, t } = await serviceAndDeployment('bg-broken');
    await c.driver.deployGreen(t, [{ image: image('1.1.0-broken') }], { signal: within(), timeoutMs: 10_000 });

    await expect(c.driver.switchService(t)).rejects.toThrow(/not switching Service .*\/web to green: Waiting for deployment "web-green"/);
  });

  it('aborts by routing back to the old colour and removing the new one', async () => {
    const { c, ns, t } = await serviceAndDeployment('bg-abort');
    const green = await c.driver.deployGreen(t, [{ image: image('1.1.0') }], { signal: within(), timeoutMs: 10_000 });
    await c.driver.waitForRollout(green.target, { signal: within(), timeoutMs: 10_000 });
    await c.driver.switchService(t);

    expect(await c.driver.abortBlueGreen(t)).toEqual({ live: 'blue', changed: true });
    expect(await c.driver.abortBlueGreen(t)).toEqual({ live: 'blue', changed: false });

    const service = await c.core.readNamespacedService({ namespace: ns, name: 'web' });
    expect(service.spec?.selector).toEqual({ app: 'web', 'shipway.dev/color': 'blue' });
    expect(service.metadata?.annotations?.['shipway.dev/preview-color']).toBeUndefined();
    await expect(c.apps.readNamespacedDeployment({ namespace: ns, name: 'web-green' })).rejects.toMatchObject({ code: 404 });
    expect(await c.driver.observe(t)).toMatchObject({ version: '1.0.0', replicas: 3 });
  });

  it('names the missing field when the Target has no Service', async () => {
    const c = cluster();
    const ns = await c.namespace('bg-no-service');
    await c.apps.createNamespacedDeployment({ namespace: ns, body: deployment('web') });
    const t = target(ns, 'web');

    await expect(c.driver.switchService(t)).rejects.toThrow(`Target ${ns}/web-target has no spec.kubernetes.service`);
    await expect(c.driver.deployGreen(t, [{ image: image('2') }])).rejects.toThrow('spec.kubernetes.service');
  });
});
