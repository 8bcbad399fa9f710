import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TargetConfigError } from '../../operator/src/kubernetes/cluster-clients.ts';
import { deployment, startCluster, target, within, type TestCluster } from './cluster.ts';

// The operator runs in cluster A; the Target's workload lives in cluster B, whose kubeconfig is a Secret in A.
let a: TestCluster;
let b: TestCluster;
beforeAll(async () => {
  [a, b] = await Promise.all([startCluster(), startCluster()]);
});
afterAll(async () => {
  await Promise.all([a?.emulator.stop(), b?.emulator.stop()]);
});

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

async function sameNamespaceInBoth(prefix: string): Promise<string> {
  const ns = await a.namespace(prefix);
  await b.core.createNamespace({ body: { metadata: { name: ns } } });
  return ns;
}

describe('a Target in a remote cluster', () => {
  it('is driven through the kubeconfig in its Secret: the workload changes in that cluster, not the operator’s', async () => {
    const ns = await sameNamespaceInBoth('remote');
    for (const cluster of [a, b]) await cluster.apps.createNamespacedDeployment({ namespace: ns, body: deployment('web') });
    await a.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'cluster-b' }, data: { kubeconfig: base64(b.emulator.kubeconfig) } } });
    const t = target(ns, 'web', { kubeconfigSecretRef: { name: 'cluster-b', key: 'kubeconfig' } });
    const driver = a.driver;

    expect(await driver.setImages(t, [{ image: 'registry.local/shop/web:2.0.0' }], 'remote release')).toMatchObject({ changed: true });
    expect(await driver.waitForRollout(t, { signal: within(), timeoutMs: 10_000 })).toMatchObject({ state: 'done' });

    expect(await driver.observe(t)).toMatchObject({ version: '2.0.0' });
    const inB = await b.apps.readNamespacedDeployment({ namespace: ns, name: 'web' });
    const inA = await a.apps.readNamespacedDeployment({ namespace: ns, name: 'web' });
    expect(inB.spec?.template.spec?.containers[0]?.image).toBe('registry.local/shop/web:2.0.0');
    expect(inA.spec?.template.spec?.containers[0]?.image).toBe('registry.local/shop/web:1.0.0');
    expect((await driver.kubeConfigFor(t)).getCurrentCluster()?.server).toBe(b.emulator.url);
  });

  it('reuses the parsed kubeconfig until the Secret changes', async () => {
    const ns = await sameNamespaceInBoth('remote-cache');
    await a.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'cluster' }, data: { kubeconfig: base64(b.emulator.kubeconfig) } } });
    const t = target(ns, 'web', { kubeconfigSecretRef: { name: 'cluster', key: 'kubeconfig' } });

    const first = await a.driver.kubeConfigFor(t);
    expect(await a.driver.kubeConfigFor(t)).toBe(first);
    await a.core.replaceNamespacedSecret({ namespace: ns, name: 'cluster', body: { metadata: { name: 'cluster' }, data: { kubeconfig: base64(a.emulator.kubeconfig) } } });

    const rotated = await a.driver.kubeConfigFor(t);
    expect(rotated).not.toBe(first);
    expect(rotated.getCurrentCluster()?.server).toBe(a.emulator.url);
  });

  it('uses the operator’s own cluster without a kubeconfigSecretRef', async () => {
    expect(await a.driver.kubeConfigFor(target('any', 'web'))).toBe(a.kubeConfig);
  });

  it.each([
    ['a missing Secret', undefined, { name: 'nowhere', key: 'kubeconfig' }, 'KubeconfigSecretNotFound', /Secret remote-errors-\d+\/nowhere \(spec.kubernetes.kubeconfigSecretRef of Target web-target\) not found/],
    ['a missing key', { other: base64('x') }, { name: 'creds', key: 'kubeconfig' }, 'KubeconfigKeyNotFound', /Secret remote-errors-\d+\/creds has no key "kubeconfig"/],
    // The YAML parser quotes the text it fails on; none of it may reach the error.
    ['text that does not parse', { kubeconfig: base64('token: s3cr3t-value\nclusters: [\n') }, { name: 'creds', key: 'kubeconfig' }, 'KubeconfigInvalid', /key "kubeconfig" of Secret remote-errors-\d+\/creds is not a valid kubeconfig$/],
    ['a kubeconfig without a current context', { kubeconfig: base64('apiVersion: v1\nkind: Config\nclusters: []\n') }, { name: 'creds', key: 'kubeconfig' }, 'KubeconfigInvalid', /creds is a kubeconfig without a current context and cluster/],
  ])('fails clearly on %s, without quoting the Secret', async (_name, data, ref, reason, message) => {
    const ns = await a.namespace('remote-errors');
    if (data) await a.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: ref.name }, data } });
    const t = target(ns, 'web', { kubeconfigSecretRef: ref });

    const error = await a.driver.observe(t).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TargetConfigError);
    expect(error).toMatchObject({ reason });
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('s3cr3t');
    expect(await a.driver.waitForRollout(t, { signal: within(), timeoutMs: 1000 })).toMatchObject({ state: 'failed', reason });
  });
});
