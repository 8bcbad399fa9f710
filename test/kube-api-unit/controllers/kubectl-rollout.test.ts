/** The workload controllers behind the HTTP server, driven by the real kubectl (rollout status, history, undo). */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workloadControllers } from '../../kube-api/controllers/index.ts';
import { startEmulator, type RunningEmulator } from '../../kube-api/emulator.ts';

const run = promisify(execFile);
const KUBECTL = '/usr/bin/kubectl';

describe.skipIf(!existsSync(KUBECTL))('kubectl against the workload controllers', () => {
  let emulator: RunningEmulator;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kube-controllers-'));
    emulator = await startEmulator({ http: true, controllers: workloadControllers, podReadyDelayMs: 50, kubeconfigPath: join(dir, 'kubeconfig') });
  });
  afterAll(async () => {
    await emulator?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function kubectl(...args: string[]): Promise<{ ok: boolean; out: string }> {
    try {
      const { stdout } = await run(KUBECTL, ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), ...args], { timeout: 60_000 });
      return { ok: true, out: stdout };
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  }

  it('rolls out, rolls back and reports a stuck rollout', async () => {
    expect((await kubectl('create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=2')).ok).toBe(true);
    expect(await kubectl('rollout', 'status', 'deployment/web', '--timeout=30s')).toEqual({ ok: true, out: expect.stringContaining('deployment "web" successfully rolled out') });

    expect((await kubectl('set', 'image', 'deployment/web', 'nginx=nginx:1.26')).ok).toBe(true);
    expect((await kubectl('rollout', 'status', 'deployment/web', '--timeout=30s')).out).toContain('successfully rolled out');
    const history = await kubectl('rollout', 'history', 'deployment/web');
    expect(history.out).toMatch(/REVISION\s+CHANGE-CAUSE\s+1\s+<none>\s+2\s+<none>/);

    expect((await kubectl('rollout', 'undo', 'deployment/web')).out).toContain('rolled back');
    expect((await kubectl('rollout', 'status', 'deployment/web', '--timeout=30s')).out).toContain('successfully rolled out');
    const image = await kubectl('get', 'deployment/web', '-o', 'jsonpath={.spec.template.spec.containers[0].image} {.metadata.annotations.deployment\\.kubernetes\\.io/revision}');
    expect(image.out).toBe('nginx:1.25 3');
    expect((await kubectl('rollout', 'history', 'deployment/web')).out).toMatch(/\s2\s+<none>\s+3\s+<none>/);

    expect((await kubectl('patch', 'deployment/web', '-p', '{"spec":{"progressDeadlineSeconds":1}}')).ok).toBe(true);
    expect((await kubectl('set', 'image', 'deployment/web', 'nginx=nginx:1.27-broken')).ok).toBe(true);
    const stuck = await kubectl('rollout', 'status', 'deployment/web', '--timeout=30s');
    expect(stuck.ok).toBe(false);
    expect(stuck.out).toContain('error: deployment "web" exceeded its progress deadline');
    const pods = await kubectl('get', 'pods', '--no-headers');
    expect(pods.out).toMatch(/0\/1\s+CrashLoopBackOff/);
    expect(pods.out.match(/1\/1\s+Running/g)).toHaveLength(2);
  });

  it('waits for StatefulSets, DaemonSets and Jobs', async () => {
    const manifest = `
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: db }
spec:
  replicas: 2
  serviceName: db
  selector: { matchLabels: { app: db } }
  template:
    metadata: { labels: { app: db } }
    spec: { containers: [{ name: db, image: "postgres:16" }] }
---
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: agent }
spec:
  selector: { matchLabels: { app: agent } }
  template:
    metadata: { labels: { app: agent } }
    spec: { containers: [{ name: agent, image: "fluent-bit:3" }] }
---
apiVersion: batch/v1
kind: Job
metadata: { name: migrate }
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{ name: migrate, image: "busybox:1.36" }]
`;
    const file = join(dir, 'workloads.yaml');
    writeFileSync(file, manifest);
    expect((await kubectl('apply', '-f', file)).ok).toBe(true);
    expect((await kubectl('rollout', 'status', 'statefulset/db', '--timeout=30s')).out).toContain('partitioned roll out complete: 2 new pods have been updated');
    expect((await kubectl('rollout', 'status', 'daemonset/agent', '--timeout=30s')).out).toContain('daemon set "agent" successfully rolled out');
    expect((await kubectl('wait', '--for=condition=complete', 'job/migrate', '--timeout=30s')).out).toContain('job.batch/migrate condition met');
  });
});
