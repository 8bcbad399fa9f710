import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../operator/src/cli/main.ts';
import { createRepository, openDatabase } from '../../operator/src/storage/index.ts';
import { startEmulator, type RunningEmulator } from '../kube-api/emulator.ts';

describe('shipway agent and shipway instances', () => {
  let emulator: RunningEmulator;
  let dir: string;
  let kubeconfig: string;
  let core: CoreV1Api;
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main([...args, '--kubeconfig', kubeconfig, '--data-dir', join(dir, 'db')], { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  beforeAll(async () => {
    emulator = await startEmulator();
    dir = await mkdtemp(join(tmpdir(), 'shipway-agent-cli-'));
    kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, emulator.kubeconfig);
    const kc = new KubeConfig();
    kc.loadFromString(emulator.kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'shipway-system' } } });
  }, 60_000);
  afterAll(async () => {
    await emulator?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('issues, lists and revokes an agent credential', async () => {
    const issued = await run('agent', 'issue', 'edge-1', '--namespace', 'shipway-system');
    expect(issued).toMatchObject({ code: 0 });
    expect(issued.out).toContain('Secret shipway-system/shipway-agent-edge-1');
    const secret = await core.readNamespacedSecret({ name: 'shipway-agent-edge-1', namespace: 'shipway-system' });
    const token = Buffer.from(secret.data!.token!, 'base64').toString('utf8');
    expect(issued.out).not.toContain(token);

    const listed = await run('agent', 'list', '-o', 'json');
    expect(JSON.parse(listed.out)).toEqual([expect.objectContaining({ id: 'edge-1', status: 'unknown', lastSeenAt: null })]);
    expect((await run('agent', 'list')).out).toMatch(/AGENT\s+│?\s*STATUS[\s\S]*edge-1/);

    expect((await run('agent', 'revoke', 'edge-1', '--namespace', 'shipway-system')).code).toBe(0);
    expect(JSON.parse((await run('agent', 'list', '-o', 'json')).out)[0].status).toBe('revoked');
    await expect(core.readNamespacedSecret({ name: 'shipway-agent-edge-1', namespace: 'shipway-system' })).rejects.toThrow();
  }, 60_000);

  it('lists the instances of an app with their versions and a version summary', async () => {
    const database = await openDatabase({ driver: 'pglite', dataDir: join(dir, 'db') });
    const repo = createRepository(database.db);
    for (const [target, version] of [['shop/web-1', '1.2.0'], ['shop/web-2', '1.2.0'], ['shop/web-3', '1.1.0']] as const) {
      await repo.upsertTargetInstallation({ target, app: 'web', version, previousVersion: '1.0.0', state: 'installed', installedAt: new Date('2026-11-27T10:00:00Z') });
    }
    await database.close();
    // Hosts come from the Targets in the cluster; web-3 has none there (deleted since) and shows none.
    const kubectl = (args: string[], input?: string) => execa('kubectl', ['--kubeconfig', kubeconfig, ...args], { ...(input ? { input } : {}) });
    await kubectl(['apply', '-f', join(import.meta.dirname, '..', '..', 'crds')]);
    await kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=30s']);
    await core.createNamespace({ body: { metadata: { name: 'shop' } } });
    await kubectl(['apply', '-f', '-'], `
apiVersion: shipway.dev/v1alpha1
kind: Target
metadata: { name: web-1, namespace: shop }
spec: { type: script, environment: prod, host: 10.0.0.11, agent: edge-1 }
---
apiVersion: shipway.dev/v1alpha1
kind: Target
metadata: { name: web-2, namespace: shop }
spec: { type: kubernetes, environment: prod, kubernetes: { kind: Deployment, namespace: shop-prod, name: web } }
`);
    const json = JSON.parse((await run('instances', 'web', '-o', 'json')).out);
    expect(json.versions).toEqual({ '1.2.0': 2, '1.1.0': 1 });
    expect(json.instances.map((i: { target: string; host: string | null; version: string }) => [i.target, i.host, i.version])).toEqual([
      ['shop/web-1', '10.0.0.11', '1.2.0'], ['shop/web-2', 'Deployment/shop-prod/web', '1.2.0'], ['shop/web-3', null, '1.1.0'],
    ]);
    const table = (await run('instances', 'web')).out;
    expect(table).toMatch(/shop\/web-1\s*│?\s*10\.0\.0\.11\s*│?\s*installed\s*│?\s*1\.2\.0/);
    expect(table).toMatch(/shop\/web-3\s*│?\s*-\s*│?\s*installed\s*│?\s*1\.1\.0/);
    expect(table).toMatch(/1\.2\.0\s*│?\s*2/);
    expect((await run('instances', 'nothing')).out).toBe('no instance of nothing is known');
  }, 60_000);
});
