/**
 * The quick start, end to end through the real clients: CRDs and examples applied with kubectl to the API
 * emulator, the operator running in-process on PGlite, a promote annotation, and the Release reaching
 * Succeeded with the new image rolled out in both environments and everything recorded in history.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { startOperator, type RunningOperator } from '../../operator/src/operator.ts';
import { startCluster, type Cluster } from '../conformance/cluster.ts';
import { eventually } from '../support/until.ts';

let cluster: Cluster;
let operator: RunningOperator;
const logs: string[] = [];

const jsonpath = async (args: string[], path: string) => (await cluster.kubectlOk([...args, '-o', `jsonpath=${path}`])).trim();

beforeAll(async () => {
  cluster = await startCluster({ podReadyDelayMs: 100 });
  await cluster.kubectlOk(['apply', '-f', 'crds/']);
  await cluster.kubectlOk(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=30s']);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cluster.kubeconfigPath);
  operator = await startOperator({ kubeConfig, leaseNamespace: 'default', pollIntervalMs: 100, approvalPollIntervalMs: 100, log: (l) => logs.push(l) });
}, 60_000);

afterAll(async () => {
  await operator?.stop();
  await cluster?.stop();
});

describe('the quick start', () => {
  it('reaches Succeeded after a promote, with the new image in both environments and the history recorded', async () => {
    await cluster.kubectlOk(['apply', '-f', 'examples/quickstart/']);
    const release = ['get', 'release', 'shop-1-1-0', '-n', 'shop'];
    await eventually(async () => (await jsonpath(release, '{.status.phase}/{.status.currentEnvironment}')) === 'Waiting/prod', { timeoutMs: 40_000, message: () => `release never waited in prod; logs:\n${logs.join('\n')}` });
    expect(await jsonpath(['get', 'deployment', 'web-pre', '-n', 'shop'], '{.spec.template.spec.containers[0].image}')).toBe('registry.local/shop/web:1.1.0');
    expect(await jsonpath(['get', 'deployment', 'web-prod', '-n', 'shop'], '{.spec.template.spec.containers[0].image}')).toBe('registry.local/shop/web:1.0.0');
    expect(await jsonpath(release, '{.status.environments[1].waitingFor}')).toBe('a promote action (promotion: manual)');

    await cluster.kubectlOk(['annotate', 'release', 'shop-1-1-0', '-n', 'shop', 'shipway.dev/action=promote', 'shipway.dev/actor=alice']);
    await eventually(async () => (await jsonpath(release, '{.status.phase}')) === 'Succeeded', { timeoutMs: 40_000, message: () => `release never succeeded; logs:\n${logs.join('\n')}` });

    expect(await jsonpath(['get', 'deployment', 'web-prod', '-n', 'shop'], '{.spec.template.spec.containers[0].image}')).toBe('registry.local/shop/web:1.1.0');
    const status = JSON.parse(await cluster.kubectlOk([...release, '-o', 'json'])).status;
    expect(status.progress).toBe('2/2');
    expect(status.lastAction).toMatchObject({ action: 'promote', actor: 'alice', result: 'Applied' });
    expect(status.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect(status.environments.map((e: { targets: { name: string; phase: string; previousVersion: string }[] }) => e.targets.map((t) => `${t.name}:${t.phase}:${t.previousVersion}`))).toEqual([['web-pre:Succeeded:1.0.0'], ['web-prod:Succeeded:1.0.0']]);
    // The annotation is removed once applied.
    await eventually(async () => (await jsonpath(release, '{.metadata.annotations}')).includes('shipway.dev/action') === false, { timeoutMs: 10_000 });

    const row = await operator.repo.getReleaseByUid(JSON.parse(await cluster.kubectlOk([...release, '-o', 'json'])).metadata.uid);
    const history = await operator.repo.getReleaseHistory(row!.id);
    expect(history!.release.phase).toBe('Succeeded');
    expect(history!.deployments.map((d) => `${d.environment}/${d.target}/${d.app}:${d.previousVersion}->${d.version}:${d.status}`)).toEqual([
      'pre/shop/web-pre/web:1.0.0->1.1.0:succeeded',
      'prod/shop/web-prod/web:1.0.0->1.1.0:succeeded',
    ]);
    expect(history!.deployments[0]!.stageRuns.map((s) => `${s.stage}:${s.status}:${s.taskRuns.map((t) => `${t.taskId}=${t.status}`).join(',')}`)).toEqual([
      'release:succeeded:deploy=succeeded',
      'verify:succeeded:wait-settle=succeeded',
    ]);
    expect(history!.auditEvents.map((a) => `${a.action}:${a.actor}`)).toEqual(['promote:alice']);

    const app = JSON.parse(await cluster.kubectlOk(['get', 'releaseapp', 'shop-1-1-0-web', '-n', 'shop', '-o', 'json'])).status;
    await eventually(async () => (await jsonpath(['get', 'releaseapp', 'shop-1-1-0-web', '-n', 'shop'], '{.status.phase}')) === 'Deployed', { timeoutMs: 10_000, message: () => JSON.stringify(app) });
  }, 120_000);
});
