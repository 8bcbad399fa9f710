/**
 * Strategies end to end through kubectl: an in-workload canary of one target (`<name>-canary` at a share of
 * the replicas, promoted on request), blue-green (the idle colour, then the Service selector), and a Target
 * in a remote cluster reached through the kubeconfig in its Secret (a second emulator).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../kube-api/emulator.ts';
import { workloadControllers } from '../kube-api/controllers/index.ts';
import { useEngine, workloads } from './engine-fixture.ts';

const engine = useEngine();

const release = (namespace: string, body: string) => `
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: r, namespace: ${namespace} }
spec:
  project: shop
  version: 1.1.0
${body}`;

describe('strategies', () => {
  it('runs an in-workload canary beside the Deployment, then promotes it on request', async () => {
    const ns = await engine.namespace('inworkload');
    await engine.apply(workloads(ns, 'prod', ['web'], { replicas: 4 }));
    await engine.apply(release(ns, `  environments:
    - name: prod
      promotion: auto
      strategy: { type: canary, canary: { percent: 25, verifySeconds: 1, autoPromote: false } }`));
    const waiting = await engine.waitFor(ns, 'r', (r) => r.status?.environments?.[0]?.waitingFor === 'a promote action to continue after canary', 'the canary waits for promotion');
    const canary = await engine.json(['get', 'deployment', 'web-canary', '-n', ns]);
    expect(canary.spec.replicas).toBe(1);
    expect(canary.spec.template.spec.containers[0].image).toBe('registry.local/web:1.1.0');
    expect(canary.spec.template.metadata.labels).toMatchObject({ app: 'web', 'shipway.dev/canary': 'true' });
    expect(await engine.image(ns, 'web')).toBe('registry.local/web:1.0.0');
    expect(waiting.status.environments[0].targets[0]).toMatchObject({ name: 'web', mode: 'canary', phase: 'Succeeded' });

    await engine.annotate(ns, 'r', { 'shipway.dev/action': 'promote' });
    const done = await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Succeeded', 'promoted');
    expect(done.status.environments[0].targets[0]).toMatchObject({ mode: 'promote', phase: 'Succeeded' });
    expect(await engine.image(ns, 'web')).toBe('registry.local/web:1.1.0');
    const left = await engine.cluster.kubectl(['get', 'deployment', 'web-canary', '-n', ns]);
    expect(left.stderr).toContain('NotFound');
  }, 90_000);

  it('deploys blue-green: the new colour first, then the Service selector moves to it', async () => {
    const ns = await engine.namespace('bluegreen');
    await engine.apply(`
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${ns} }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: registry.local/web:1.0.0 }] }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: ${ns} }
spec: { selector: { app: web }, ports: [{ port: 80 }] }
---
apiVersion: shipway.dev/v1alpha1
kind: Target
metadata: { name: web, namespace: ${ns} }
spec: { type: kubernetes, environment: prod, kubernetes: { namespace: ${ns}, name: web, container: web, service: web } }
`);
    await engine.apply(release(ns, `  environments: [{ name: prod, promotion: auto, strategy: { type: blueGreen, blueGreen: { keepOldVersion: true } } }]`));
    await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Succeeded', 'blue-green succeeds');
    const service = await engine.json(['get', 'service', 'web', '-n', ns]);
    expect(service.spec.selector).toEqual({ app: 'web', 'shipway.dev/color': 'green' });
    const green = await engine.json(['get', 'deployment', 'web-green', '-n', ns]);
    expect(green.spec.template.spec.containers[0].image).toBe('registry.local/web:1.1.0');
    expect(green.spec.replicas).toBe(2);
    const blue = await engine.json(['get', 'deployment', 'web', '-n', ns]);
    expect(blue.spec.replicas).toBe(0); // kept, scaled to 0, for a fast way back
    expect(blue.spec.template.spec.containers[0].image).toBe('registry.local/web:1.0.0');
  }, 90_000);

  describe('a Target in another cluster', () => {
    let remote: RunningEmulator;
    beforeAll(async () => {
      remote = await startEmulator({ port: 0, controllers: workloadControllers, podReadyDelayMs: 50 });
    });
    afterAll(async () => {
      await remote?.stop();
    });

    it('is released through the kubeconfig in its Secret, leaving the operator’s cluster alone', async () => {
      const ns = await engine.namespace('remote');
      const deployment = workloads(ns, 'prod', ['web']).split('---')[0]!;
      // The same Deployment in both clusters; only the remote one may change.
      await engine.apply(deployment);
      const { KubeConfig, KubernetesObjectApi } = await import('@kubernetes/client-node');
      const kc = new KubeConfig();
      kc.loadFromString(remote.kubeconfig);
      const api = kc.makeApiClient(KubernetesObjectApi);
      await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      const { parse } = await import('yaml');
      await api.create(parse(deployment));
      await engine.apply(`
apiVersion: v1
kind: Secret
metadata: { name: cluster-b, namespace: ${ns} }
stringData: { kubeconfig: ${JSON.stringify(remote.kubeconfig)} }
---
apiVersion: shipway.dev/v1alpha1
kind: Target
metadata: { name: web, namespace: ${ns} }
spec: { type: kubernetes, environment: prod, kubernetes: { namespace: ${ns}, name: web, container: web, kubeconfigSecretRef: { name: cluster-b, key: kubeconfig } } }
`);
      await engine.apply(release(ns, `  environments: [{ name: prod, promotion: auto }]`));
      await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Succeeded', 'the remote release succeeds');
      const inRemote = (await api.read({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: ns } })) as { spec: { template: { spec: { containers: { image: string }[] } } } };
      expect(inRemote.spec.template.spec.containers[0]!.image).toBe('registry.local/web:1.1.0');
      expect(await engine.image(ns, 'web')).toBe('registry.local/web:1.0.0');
      const target = await engine.json(['get', 'target', 'web', '-n', ns]);
      expect(target.status.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'WorkloadFound' });
    }, 90_000);
  });
});
