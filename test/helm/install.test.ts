/**
 * `helm install`, `upgrade` and `uninstall` of the chart with the real helm binary against the cluster of the
 * conformance suite (the Kubernetes API emulator, or a real cluster with CONFORMANCE_KUBECONFIG). The emulator
 * runs no container: its simulated pods become Ready whatever the image; the operator itself is tested
 * elsewhere (test/engine).
 *
 * Install and upgrade go without `--wait` and the rollout is awaited with `kubectl rollout status` instead:
 * `--wait` also waits for the PGlite PersistentVolumeClaim to be Bound, which the emulator never does (it
 * has no volume binder), nor does a cluster without a default StorageClass.
 */
import { describe, expect, it } from 'vitest';
import { json, useCluster, type Obj } from '../conformance/cluster.ts';
import { CHART, valuesFile } from './chart.ts';

const c = useCluster('helm-chart');
// A name of its own: the ClusterRole and ClusterRoleBinding are cluster-wide.
const release = `sw${Math.random().toString(36).slice(2, 7)}`;
const fullname = `${release}-shipway`;
const CRDS = ['pipelines.shipway.dev', 'releaseapps.shipway.dev', 'releases.shipway.dev', 'targets.shipway.dev'];

const helmOk = async (args: string[]) => {
  const result = await c.cluster.helm(args, { timeoutMs: 120_000 });
  if (result.code !== 0) throw new Error(`helm ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`);
  return result.stdout;
};
const get = async (what: string, namespaced = true) => json(await c.kubectlOk(['get', what, ...(namespaced ? ['-n', c.ns] : []), '-o', 'json']));
const exists = async (what: string, namespaced = true) => (await c.kubectl(['get', what, ...(namespaced ? ['-n', c.ns] : [])])).code === 0;
const rolledOut = () => c.kubectlOk(['rollout', 'status', `deployment/${fullname}`, '-n', c.ns, '--timeout=90s'], { timeoutMs: 100_000 });
const args = async () => (await get(`deployment/${fullname}`)).spec.template.spec.containers[0].args as string[];

describe('the chart installed with helm', () => {
  it('installs: CRDs, ServiceAccount, RBAC, Services, the claim and an available Deployment', async () => {
    const out = await helmOk(['install', release, CHART, '--namespace', c.ns, '-f', valuesFile({ webhook: { secret: 'hook' } })]);
    expect(out).toMatch(/STATUS: deployed/);
    await rolledOut();
    // NOTES.txt, rendered against the cluster: how to watch the operator and how agents get credentials.
    expect(out).toContain(`kubectl rollout status deployment/${fullname} -n ${c.ns}`);
    expect(out).toContain(`kubectl get secret shipway-agent-<id> -n ${c.ns}`);
    expect(out).toContain(`kubectl delete secret shipway-agent-<id> -n ${c.ns}`);

    for (const crd of CRDS) expect(await exists(`crd/${crd}`, false), crd).toBe(true);
    const deployment = await get(`deployment/${fullname}`);
    expect(deployment.status.availableReplicas).toBe(1);
    expect(deployment.metadata.labels['app.kubernetes.io/managed-by']).toBe('Helm');
    expect(await args()).toContain('--data-dir');
    for (const what of [`serviceaccount/${fullname}`, `service/${fullname}`, `service/${fullname}-agents`, `pvc/${fullname}-data`, `secret/${fullname}-webhook`, `role/${fullname}-leader-election`, `rolebinding/${fullname}-agents`]) {
      expect(await exists(what), what).toBe(true);
    }
    const clusterRole = await get(`clusterrole/${fullname}`, false);
    expect((clusterRole.rules as Obj[]).some((r) => r.resources.includes('releases'))).toBe(true);
    expect((await get(`service/${fullname}-agents`)).spec.ports[0]).toMatchObject({ port: 7443, protocol: 'UDP' });
  }, 120_000);

  it('upgrades: a changed value reaches the Deployment, and the history has both revisions', async () => {
    const out = await helmOk(['upgrade', release, CHART, '--namespace', c.ns, '--reuse-values', '-f', valuesFile({ operator: { concurrency: 3 }, agents: { port: 9443 } })]);
    expect(out).toMatch(/REVISION: 2/);
    await rolledOut();
    const upgraded = await args();
    expect(upgraded[upgraded.indexOf('--concurrency') + 1]).toBe('3');
    expect(upgraded[upgraded.indexOf('--agent-port') + 1]).toBe('9443');
    expect((await get(`service/${fullname}-agents`)).spec.ports[0].port).toBe(9443);
    const history = await helmOk(['history', release, '--namespace', c.ns]);
    expect(history).toMatch(/^1\s+.*\ssuperseded\s/m);
    expect(history).toMatch(/^2\s+.*\sdeployed\s/m);
  }, 120_000);

  it('uninstalls: the CRDs and the PGlite claim stay, everything else goes', async () => {
    const out = await helmOk(['uninstall', release, '--namespace', c.ns, '--wait', '--timeout', '90s']);
    expect(out).toMatch(/uninstalled/);
    for (const what of [`deployment/${fullname}`, `service/${fullname}`, `service/${fullname}-agents`, `serviceaccount/${fullname}`, `secret/${fullname}-webhook`, `role/${fullname}-leader-election`, `rolebinding/${fullname}-leader-election`, `role/${fullname}-agents`]) {
      expect(await exists(what), what).toBe(false);
    }
    for (const what of [`clusterrole/${fullname}`, `clusterrolebinding/${fullname}`]) expect(await exists(what, false), what).toBe(false);
    // Helm never deletes what it installed from crds/; the claim holds the history (helm.sh/resource-policy: keep).
    for (const crd of CRDS) expect(await exists(`crd/${crd}`, false), crd).toBe(true);
    expect(await exists(`pvc/${fullname}-data`)).toBe(true);
  }, 120_000);

  it('installs and uninstalls with --wait when nothing needs a volume (external database, two replicas)', async () => {
    const name = `${release}-ha`;
    const values = { replicaCount: 2, database: { mode: 'external', external: { url: 'postgres://shipway:pw@db:5432/shipway' } } };
    expect(await helmOk(['install', name, CHART, '--namespace', c.ns, '-f', valuesFile(values), '--wait', '--timeout', '90s'])).toMatch(/STATUS: deployed/);
    const deployment = await get(`deployment/${name}-shipway`);
    expect(deployment.status.availableReplicas).toBe(2);
    expect(deployment.spec.template.spec.containers[0].env).toContainEqual({ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: `${name}-shipway-database`, key: 'database-url' } } });
    expect(await exists(`secret/${name}-shipway-database`)).toBe(true);
    expect(await exists(`pvc/${name}-shipway-data`)).toBe(false);
    expect(await helmOk(['uninstall', name, '--namespace', c.ns, '--wait', '--timeout', '90s'])).toMatch(/uninstalled/);
    expect(await exists(`deployment/${name}-shipway`)).toBe(false);
    expect(await exists(`secret/${name}-shipway-database`)).toBe(false);
  }, 120_000);
});
