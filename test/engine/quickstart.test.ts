/**
 * The quick start, end to end through the real clients: CRDs and examples applied with kubectl to the API
 * emulator, the operator running in-process on PGlite, and two promote annotations — one releases prod, the
 * second lets its canary (web-prod) be followed by the other prod Deployments once the verify window has
 * passed. The Release reaches Succeeded with the new image everywhere and every target recorded in history.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { startOperator, type RunningOperator } from '../../operator/src/operator.ts';
import { startCluster, type Cluster } from '../conformance/cluster.ts';
import { eventually } from '../support/until.ts';

let cluster: Cluster;
let operator: RunningOperator;
const logs: string[] = [];

const PROD = ['web-prod', 'web-prod-2', 'web-prod-3'];
const OLD = 'registry.local/shop/web:1.0.0';
const NEW = 'registry.local/shop/web:1.1.0';

const jsonpath = async (args: string[], path: string) => (await cluster.kubectlOk([...args, '-o', `jsonpath=${path}`])).trim();
const image = (deployment: string) => jsonpath(['get', 'deployment', deployment, '-n', 'shop'], '{.spec.template.spec.containers[0].image}');
const release = ['get', 'release', 'shop-1-1-0', '-n', 'shop'];
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the Release status as kubectl prints it
const releaseStatus = async (): Promise<any> => JSON.parse(await cluster.kubectlOk([...release, '-o', 'json'])).status;
const promote = (actor: string) => cluster.kubectlOk(['annotate', 'release', 'shop-1-1-0', '-n', 'shop', 'shipway.dev/action=promote', `shipway.dev/actor=${actor}`]);

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
  it('deploys pre by itself, the prod canary after a promote and the rest of prod after a second one, recording every target', async () => {
    await cluster.kubectlOk(['apply', '-f', 'examples/quickstart/']);
    await eventually(async () => (await jsonpath(release, '{.status.phase}/{.status.currentEnvironment}')) === 'Waiting/prod', { timeoutMs: 40_000, message: () => `release never waited in prod; logs:\n${logs.join('\n')}` });
    expect(await image('web-pre')).toBe(NEW);
    for (const d of PROD) expect(await image(d)).toBe(OLD);
    expect(await jsonpath(release, '{.status.environments[1].waitingFor}')).toBe('a promote action (promotion: manual)');

    // First promote: prod starts with its canary, one third of three targets.
    await promote('alice');
    const seenWaits = new Set<string>();
    await eventually(
      async () => {
        const wait = await jsonpath(release, '{.status.environments[1].waitingFor}');
        seenWaits.add(wait);
        return wait === 'a promote action to continue after canary';
      },
      { timeoutMs: 40_000, message: () => `the canary never waited for promotion; saw ${[...seenWaits].join(' | ')}; logs:\n${logs.join('\n')}` },
    );
    // The gate comes only after the canary's verify window.
    expect([...seenWaits].some((w) => /^verify window until \S+ for web-prod$/.test(w))).toBe(true);
    expect(await image('web-prod')).toBe(NEW);
    expect(await image('web-prod-2')).toBe(OLD);
    expect(await image('web-prod-3')).toBe(OLD);
    const gated = await releaseStatus();
    expect(gated.phase).toBe('Verifying');
    expect(gated.progress).toBe('2/4');
    expect(gated.environments[1]).toMatchObject({ phase: 'Verifying', stepState: 'Promote', currentStep: 'canary (1/2)' });
    expect(gated.environments[1].targets.map((t: { name: string; phase: string }) => `${t.name}:${t.phase}`)).toEqual(['web-prod:Succeeded']);
    // The annotation is removed once applied, so the same one can be given again.
    await eventually(async () => (await jsonpath(release, '{.metadata.annotations}')).includes('shipway.dev/action') === false, { timeoutMs: 10_000 });

    // Second promote: the rest of prod.
    await promote('bob');
    await eventually(async () => (await jsonpath(release, '{.status.phase}')) === 'Succeeded', { timeoutMs: 40_000, message: () => `release never succeeded; logs:\n${logs.join('\n')}` });

    for (const d of ['web-pre', ...PROD]) expect(await image(d)).toBe(NEW);
    const status = await releaseStatus();
    expect(status.progress).toBe('4/4');
    // Fields the engine dropped are gone from the stored status, not left behind by the patch.
    expect(status.currentEnvironment).toBeUndefined();
    expect(status.lastAction).toMatchObject({ action: 'promote', actor: 'bob', result: 'Applied' });
    expect(status.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    const runs = status.environments.map((e: { targets: { name: string; phase: string; previousVersion: string; version: string }[] }) =>
      e.targets.map((t) => `${t.name}:${t.phase}:${t.previousVersion}->${t.version}`),
    );
    expect(runs).toEqual([['web-pre:Succeeded:1.0.0->1.1.0'], PROD.map((d) => `${d}:Succeeded:1.0.0->1.1.0`)]);
    await eventually(async () => (await jsonpath(release, '{.metadata.annotations}')).includes('shipway.dev/action') === false, { timeoutMs: 10_000 });

    const row = await operator.repo.getReleaseByUid(JSON.parse(await cluster.kubectlOk([...release, '-o', 'json'])).metadata.uid);
    const history = await operator.repo.getReleaseHistory(row!.id);
    expect(history!.release.phase).toBe('Succeeded');
    // The canary's row comes first; the two Deployments after it roll out together, in either order.
    const deployments = history!.deployments.map((d) => `${d.environment}/${d.target}/${d.app}:${d.previousVersion}->${d.version}:${d.status}`);
    expect(deployments.slice(0, 2)).toEqual(['pre/shop/web-pre/web:1.0.0->1.1.0:succeeded', 'prod/shop/web-prod/web:1.0.0->1.1.0:succeeded']);
    expect(deployments.slice(2).sort()).toEqual(['prod/shop/web-prod-2/web:1.0.0->1.1.0:succeeded', 'prod/shop/web-prod-3/web:1.0.0->1.1.0:succeeded']);
    for (const d of history!.deployments) {
      expect(d.stageRuns.map((s) => `${s.stage}:${s.status}:${s.taskRuns.map((t) => `${t.taskId}=${t.status}`).join(',')}`), d.target).toEqual([
        'release:succeeded:deploy=succeeded',
        'verify:succeeded:wait-settle=succeeded',
      ]);
    }
    expect(history!.auditEvents.map((a) => `${a.action}:${a.actor}`)).toEqual(['promote:alice', 'promote:bob']);

    await eventually(async () => (await jsonpath(['get', 'releaseapp', 'shop-1-1-0-web', '-n', 'shop'], '{.status.phase}')) === 'Deployed', {
      timeoutMs: 10_000,
      message: () => 'the ReleaseApp never became Deployed',
    });
  }, 120_000);
});
