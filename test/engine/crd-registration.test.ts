/** `--install-crds`: the operator creates missing CRDs (through @dot-i/k8s-operator) and leaves existing ones alone. */
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOperator } from '../../operator/src/operator.ts';
import { startCluster, type Cluster } from '../conformance/cluster.ts';

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({ podReadyDelayMs: 50 });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

describe('CRD registration at start-up', () => {
  it('creates the four CRDs on a cluster without them, Established before the operator watches', async () => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(cluster.kubeconfigPath);
    const logs: string[] = [];
    const operator = await startOperator({ kubeConfig, installCrds: true, leaseNamespace: 'default', log: (l) => logs.push(l) });
    await operator.stop();
    const crds = JSON.parse(await cluster.kubectlOk(['get', 'crd', '-o', 'json'])).items;
    expect(crds.map((c: { metadata: { name: string } }) => c.metadata.name).sort()).toEqual(['pipelines.shipway.dev', 'releaseapps.shipway.dev', 'releases.shipway.dev', 'targets.shipway.dev']);
    expect(crds.every((c: { status: { conditions: { type: string; status: string }[] } }) => c.status.conditions.some((x) => x.type === 'Established' && x.status === 'True'))).toBe(true);
    expect(logs.some((l) => l.startsWith('CRDs registered: '))).toBe(true);

    // A second start finds them and changes nothing.
    const before = crds.map((c: { metadata: { resourceVersion: string } }) => c.metadata.resourceVersion);
    const again = await startOperator({ kubeConfig, installCrds: true, leaseNamespace: 'default', log: () => {} });
    await again.stop();
    const after = JSON.parse(await cluster.kubectlOk(['get', 'crd', '-o', 'json'])).items.map((c: { metadata: { resourceVersion: string } }) => c.metadata.resourceVersion);
    expect(after).toEqual(before);
  }, 60_000);
});
