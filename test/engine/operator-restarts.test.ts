/**
 * The operator as a real process: killed with SIGKILL at random moments during a multi-environment release
 * and started again, it finishes the release with no work done twice — asserted from history and from the
 * workloads' own revision counters. Two replicas share one Lease: only one acts, and the other takes over
 * when the first is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, createRepository } from '../../operator/src/storage/index.ts';
import type { Cluster } from '../conformance/cluster.ts';
import { ROOT } from '../conformance/cluster.ts';
import { openScratchDatabase, postgresRequired, postgresUrl, type ScratchDatabase } from '../support/test-databases.ts';
import { eventually } from '../support/until.ts';
import { startCrdCluster, workloads } from './engine-fixture.ts';

let cluster: Cluster;
let scratch: ScratchDatabase | undefined;
let dataDir: string;
const children = new Set<ChildProcess>();

interface OperatorProcess {
  child: ChildProcess;
  output: string[];
  exited: Promise<void>;
}

/** Short leases so a standby takes over within seconds of the leader's death. */
function startOperatorProcess(identity: string): OperatorProcess {
  const args = [join(ROOT, 'bin/shipway.js'), 'operator', '--kubeconfig', cluster.kubeconfigPath, '--identity', identity, '--lease-namespace', 'default',
    '--poll-interval', '100', '--http-port', '0', '--lease-duration', '3000', '--renew-deadline', '2000', '--retry-period', '500'];
  if (scratch?.url) args.push('--database-url', scratch.url);
  else args.push('--data-dir', dataDir);
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, DATABASE_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const output: string[] = [];
  child.stdout!.on('data', (d) => output.push(...String(d).split('\n').filter(Boolean)));
  child.stderr!.on('data', (d) => output.push(...String(d).split('\n').filter(Boolean)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    children.delete(child);
    resolve();
  }));
  return { child, output, exited };
}

async function kill(p: OperatorProcess) {
  p.child.kill('SIGKILL');
  await p.exited;
}

const phase = async (ns: string, name: string) => (await cluster.kubectlOk(['get', 'release', name, '-n', ns, '-o', 'jsonpath={.status.phase}'])).trim();

beforeAll(async () => {
  cluster = await startCrdCluster(150);
  if (postgresUrl() || postgresRequired()) scratch = await openScratchDatabase('pg');
  dataDir = mkdtempSync(join(tmpdir(), 'shipway-restarts-'));
}, 90_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await cluster?.stop();
  await scratch?.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

async function historyOf(ns: string, name: string) {
  const uid = (await cluster.kubectlOk(['get', 'release', name, '-n', ns, '-o', 'jsonpath={.metadata.uid}'])).trim();
  const db = await openDatabase(scratch?.url ? { url: scratch.url, driver: 'pg' } : { dataDir, driver: 'pglite' });
  try {
    const repo = createRepository(db.db);
    const row = await repo.getReleaseByUid(uid);
    return (await repo.getReleaseHistory(row!.id))!;
  } finally {
    await db.close();
  }
}

describe('the operator process', () => {
  it('killed at random points during a multi-environment release, finishes it with no work done twice', async () => {
    const ns = 'restarts';
    await cluster.kubectlOk(['create', 'namespace', ns]);
    await cluster.kubectlOk(['apply', '-f', '-'], { input: [workloads(ns, 'pre', ['p1', 'p2']), workloads(ns, 'prod', ['q1', 'q2', 'q3'])].join('---\n') });
    await cluster.kubectlOk(['apply', '-f', '-'], {
      input: `
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: { name: checked, namespace: ${ns} }
spec:
  stages:
    - { name: before, phase: pre_release, tasks: [{ id: settle, type: wait, wait: { durationSeconds: 1 } }] }
    - { name: after, phase: post_release, tasks: [{ id: soak, type: wait, wait: { durationSeconds: 1 } }] }
---
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: r, namespace: ${ns} }
spec:
  project: shop
  version: 1.1.0
  pipelineRef: { name: checked }
  environments:
    - { name: pre, promotion: auto, strategy: { type: rolling, rolling: { batchSize: 1 } } }
    - name: prod
      promotion: auto
      strategy: { type: canary, canary: { percent: 34, verifySeconds: 2, autoPromote: true, autoRollback: true } }
`,
    });
    // Deterministic "random" kill points, so a failure can be replayed.
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let kills = 0;
    const outputs: string[][] = [];
    while (kills < 4 && (await phase(ns, 'r')) !== 'Succeeded') {
      const op = startOperatorProcess(`op-${kills}`);
      outputs.push(op.output);
      await new Promise((r) => setTimeout(r, 3000 + random() * 2500));
      await kill(op);
      kills++;
    }
    const last = startOperatorProcess('op-final');
    outputs.push(last.output);
    await eventually(async () => (await phase(ns, 'r')) === 'Succeeded', { timeoutMs: 90_000, intervalMs: 500, message: () => outputs.map((o) => o.slice(-15).join('\n')).join('\n---\n') });
    last.child.kill('SIGTERM');
    await last.exited;
    expect(kills).toBeGreaterThan(1);

    const history = await historyOf(ns, 'r');
    const deploys = history.deployments.filter((d) => d.operation === 'deploy');
    expect(deploys.map((d) => `${d.environment}/${d.target.split('/')[1]}:${d.status}:${d.previousVersion}`).sort()).toEqual([
      'pre/p1:succeeded:1.0.0', 'pre/p2:succeeded:1.0.0', 'prod/q1:succeeded:1.0.0', 'prod/q2:succeeded:1.0.0', 'prod/q3:succeeded:1.0.0',
    ]);
    for (const d of deploys) {
      expect(d.stageRuns.map((s) => `${s.stage}:${s.status}:${s.taskRuns.map((t) => `${t.taskId}=${t.status}`).join(',')}`)).toEqual([
        'before:succeeded:settle=succeeded', 'deploy:succeeded:deploy=succeeded', 'after:succeeded:soak=succeeded',
      ]);
    }
    // One rollout per workload: a second image change would have made revision 3.
    for (const name of ['p1', 'p2', 'q1', 'q2', 'q3']) {
      const d = JSON.parse(await cluster.kubectlOk(['get', 'deployment', name, '-n', ns, '-o', 'json']));
      expect(d.spec.template.spec.containers[0].image).toBe('registry.local/web:1.1.0');
      expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('2');
    }
    expect(history.release.phase).toBe('Succeeded');
  }, 240_000);

  it('runs two replicas of which only one leads; the standby takes over when the leader dies', async () => {
    const ns = 'replicas';
    await cluster.kubectlOk(['create', 'namespace', ns]);
    await cluster.kubectlOk(['apply', '-f', '-'], { input: workloads(ns, 'pre', ['a']) });
    const one = startOperatorProcess('replica-one');
    const two = startOperatorProcess('replica-two');
    const leaders = () => [one, two].filter((p) => p.output.some((l) => l.endsWith(': leading')));
    await eventually(async () => leaders().length === 1, { timeoutMs: 60_000, message: () => [...one.output, ...two.output].join('\n') });
    await new Promise((r) => setTimeout(r, 2000));
    expect(leaders()).toHaveLength(1);
    const [leader] = leaders();
    const standby = leader === one ? two : one;
    await kill(leader!);
    await eventually(async () => standby.output.some((l) => l.endsWith(': leading')), { timeoutMs: 60_000, message: () => standby.output.join('\n') });
    await cluster.kubectlOk(['apply', '-f', '-'], {
      input: `
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: r, namespace: ${ns} }
spec: { project: shop, version: 1.1.0, environments: [{ name: pre, promotion: auto }] }
`,
    });
    await eventually(async () => (await phase(ns, 'r')) === 'Succeeded', { timeoutMs: 60_000, intervalMs: 500, message: () => standby.output.slice(-20).join('\n') });
    const lease = JSON.parse(await cluster.kubectlOk(['get', 'lease', 'shipway-operator', '-n', 'default', '-o', 'json']));
    expect(lease.spec.holderIdentity).toBe(standby === one ? 'replica-one' : 'replica-two');
    standby.child.kill('SIGTERM');
    await standby.exited;
  }, 120_000);
});
