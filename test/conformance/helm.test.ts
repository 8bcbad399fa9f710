/**
 * helm 3 (from its npm package, see scripts/install-helm.sh) against the cluster, with the tiny chart in
 * fixtures/chart (a ConfigMap, a Deployment and a Service): lint, template, install --wait, upgrade, history,
 * rollback and uninstall. helm stores releases in Secrets it writes with protobuf bodies.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, useCluster, type Obj } from './cluster.ts';
import { IMAGE, IMAGE_NEXT } from './images.ts';

const c = useCluster('helm');
const chart = join(import.meta.dirname, 'fixtures/chart');

const helmOk = async (args: string[]) => {
  const result = await c.cluster.helm(args, { timeoutMs: 120_000 });
  if (result.code !== 0) throw new Error(`helm ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`);
  return result.stdout;
};
const image = async () => (json(await c.kubectlOk(['get', 'deployment', 'app-web', '-n', c.ns, '-o', 'json'])) as Obj).spec.template.spec.containers[0].image as string;

describe('helm', () => {
  it('lints and renders the chart', async () => {
    const lint = await helmOk(['lint', chart]);
    expect(lint).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    const rendered = await helmOk(['template', 'app', chart, '--namespace', c.ns, '--set', `image=${IMAGE}`]);
    expect(rendered).toMatch(/^kind: ConfigMap$/m);
    expect(rendered).toMatch(/^kind: Deployment$/m);
    expect(rendered).toMatch(/^kind: Service$/m);
    expect(rendered).toContain(`image: "${IMAGE}"`);
  });

  it('installs with --wait: the objects exist and the Deployment is available', async () => {
    const out = await helmOk(['install', 'app', chart, '--namespace', c.ns, '--set', `image=${IMAGE}`, '--wait', '--timeout', '90s']);
    expect(out).toMatch(/STATUS: deployed/);
    expect(out).toMatch(/REVISION: 1/);
    const deploy = json(await c.kubectlOk(['get', 'deployment', 'app-web', '-n', c.ns, '-o', 'json']));
    expect(deploy.status.availableReplicas).toBe(1);
    expect(deploy.metadata.labels['app.kubernetes.io/managed-by']).toBe('Helm');
    expect(deploy.metadata.annotations['meta.helm.sh/release-name']).toBe('app');
    const cm = json(await c.kubectlOk(['get', 'configmap', 'app-config', '-n', c.ns, '-o', 'json']));
    expect(cm.data.message).toBe('hello');
    const svc = json(await c.kubectlOk(['get', 'service', 'app-web', '-n', c.ns, '-o', 'json']));
    expect(svc.spec.clusterIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(svc.spec.ports[0]).toMatchObject({ port: 80, targetPort: 8080, protocol: 'TCP' });
    // The release record: a Secret of type helm.sh/release.v1.
    const secrets = json(await c.kubectlOk(['get', 'secrets', '-n', c.ns, '-l', 'owner=helm,name=app', '-o', 'json'])).items as Obj[];
    expect(secrets.map((s) => [s.metadata.name, s.type, s.metadata.labels.status])).toEqual([['sh.helm.release.v1.app.v1', 'helm.sh/release.v1', 'deployed']]);
    expect(await helmOk(['list', '--namespace', c.ns])).toMatch(/^app\s+.*\sdeployed\s+conformance-app-0\.1\.0\s+1\.0\.0\s*$/m);
    expect(await helmOk(['status', 'app', '--namespace', c.ns])).toMatch(/STATUS: deployed/);
  });

  it('upgrades with a new image, and keeps the history', async () => {
    const out = await helmOk(['upgrade', 'app', chart, '--namespace', c.ns, '--set', `image=${IMAGE_NEXT}`, '--set', 'message=bonjour', '--wait', '--timeout', '90s']);
    expect(out).toMatch(/has been upgraded/);
    expect(out).toMatch(/REVISION: 2/);
    expect(await image()).toBe(IMAGE_NEXT);
    expect(json(await c.kubectlOk(['get', 'configmap', 'app-config', '-n', c.ns, '-o', 'json'])).data.message).toBe('bonjour');
    await c.kubectlOk(['rollout', 'status', 'deployment/app-web', '-n', c.ns, '--timeout=90s'], { timeoutMs: 100_000 });

    const history = await helmOk(['history', 'app', '--namespace', c.ns]);
    expect(history).toMatch(/^1\s+.*\ssuperseded\s+conformance-app-0\.1\.0\s+1\.0\.0\s+Install complete\s*$/m);
    expect(history).toMatch(/^2\s+.*\sdeployed\s+conformance-app-0\.1\.0\s+1\.0\.0\s+Upgrade complete\s*$/m);
    const values = await helmOk(['get', 'values', 'app', '--namespace', c.ns, '-o', 'json']);
    expect(JSON.parse(values)).toEqual({ image: IMAGE_NEXT, message: 'bonjour' });
  });

  it('rolls back to revision 1: the image goes back', async () => {
    const out = await helmOk(['rollback', 'app', '1', '--namespace', c.ns, '--wait', '--timeout', '90s']);
    expect(out).toMatch(/Rollback was a success/);
    expect(await image()).toBe(IMAGE);
    expect(json(await c.kubectlOk(['get', 'configmap', 'app-config', '-n', c.ns, '-o', 'json'])).data.message).toBe('hello');
    const history = await helmOk(['history', 'app', '--namespace', c.ns]);
    expect(history).toMatch(/^3\s+.*\sdeployed\s+.*Rollback to 1\s*$/m);
    expect(history).toMatch(/^2\s+.*\ssuperseded\s/m);
  });

  it('uninstalls: the objects and the release records go', async () => {
    const out = await helmOk(['uninstall', 'app', '--namespace', c.ns, '--wait', '--timeout', '90s']);
    expect(out).toMatch(/release "app" uninstalled/);
    for (const what of ['deployment/app-web', 'service/app-web', 'configmap/app-config']) {
      expect((await c.kubectl(['get', what, '-n', c.ns])).code).not.toBe(0);
    }
    expect((await c.kubectlOk(['get', 'secrets', '-n', c.ns, '-l', 'owner=helm', '-o', 'name'])).trim()).toBe('');
    const status = await c.cluster.helm(['status', 'app', '--namespace', c.ns]);
    expect(status.code).not.toBe(0);
    expect(status.stderr).toMatch(/release: not found/);
  });
});
