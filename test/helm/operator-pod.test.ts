/**
 * The operator started exactly as the chart's installed Deployment says, with the test acting as the kubelet:
 * the container's command and args, its env (downward API and Secret references resolved), its volumes
 * (the claim and the webhook Secret become directories, their mount paths mapped onto them) — run as a real
 * process against the cluster helm installed into. There is no operator image to run in a pod yet (and the
 * emulator runs no containers), so this is how the chart's command line, env, probes, Lease identity, agent
 * namespace and webhook secret file are shown to work with the real operator.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { json, ROOT, useCluster, type Obj } from '../conformance/cluster.ts';
import { freePort } from '../support/ports.ts';
import { eventually } from '../support/until.ts';
import { CHART, valuesFile } from './chart.ts';

const c = useCluster('helm-pod');
const release = `pod${Math.random().toString(36).slice(2, 7)}`;
const fullname = `${release}-shipway`;
const podName = `${fullname}-7d9f8c6b5-x2x4q`;
const WEBHOOK_SECRET = 'drone-shared-secret';
const scratch = mkdtempSync(join(tmpdir(), 'helm-pod-'));
let child: ChildProcess | undefined;
const output: string[] = [];

afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

/** $(VAR) references in args, as the kubelet expands them from the container's env. */
const expand = (text: string, env: Record<string, string>) => text.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);

/** The container's env with valueFrom resolved: the downward API fields and Secret keys the chart uses. */
async function resolveEnv(container: Obj): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const e of (container.env ?? []) as Obj[]) {
    if (e.value !== undefined) env[e.name] = expand(e.value, env);
    else if (e.valueFrom?.fieldRef) env[e.name] = ({ 'metadata.name': podName, 'metadata.namespace': c.ns } as Record<string, string>)[e.valueFrom.fieldRef.fieldPath]!;
    else if (e.valueFrom?.secretKeyRef) {
      const secret = json(await c.kubectlOk(['get', 'secret', e.valueFrom.secretKeyRef.name, '-n', c.ns, '-o', 'json']));
      env[e.name] = Buffer.from(secret.data[e.valueFrom.secretKeyRef.key], 'base64').toString('utf8');
    } else throw new Error(`env ${e.name}: a valueFrom this test does not resolve: ${JSON.stringify(e.valueFrom)}`);
  }
  return env;
}

/** Each mounted volume as a directory of the scratch dir (a Secret's items written into it); mountPath -> directory. */
async function mountVolumes(pod: Obj, container: Obj): Promise<Map<string, string>> {
  const mounts = new Map<string, string>();
  for (const mount of (container.volumeMounts ?? []) as Obj[]) {
    const volume = (pod.volumes as Obj[]).find((v) => v.name === mount.name)!;
    // /tmp stays the host's: tsx writes its cache there, as it would into the pod's emptyDir.
    if (mount.mountPath === '/tmp') continue;
    const dir = join(scratch, 'volumes', mount.name);
    mkdirSync(dir, { recursive: true });
    if (volume.secret) {
      const secret = json(await c.kubectlOk(['get', 'secret', volume.secret.secretName, '-n', c.ns, '-o', 'json']));
      for (const item of (volume.secret.items ?? Object.keys(secret.data).map((key) => ({ key, path: key }))) as Obj[]) {
        writeFileSync(join(dir, item.path), Buffer.from(secret.data[item.key], 'base64'));
      }
    }
    mounts.set(mount.mountPath, dir);
  }
  return mounts;
}

const onMounts = (arg: string, mounts: Map<string, string>) => {
  for (const [path, dir] of mounts) if (arg === path || arg.startsWith(`${path}/`)) return dir + arg.slice(path.length);
  return arg;
};

let httpPort = 0;
const get = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${httpPort}${path}`, { ...init, signal: AbortSignal.timeout(5_000) });
const logs = () => output.slice(-40).join('\n');

describe('the operator started as the chart says', () => {
  it('runs with the installed Deployment command, args, env and volumes: probes answer, it leads under its pod name', async () => {
    httpPort = await freePort();
    const agentPort = await freePort();
    const values = { http: { port: httpPort }, agents: { port: agentPort, hostnames: ['agents.example.com'] }, webhook: { secret: WEBHOOK_SECRET } };
    const install = await c.cluster.helm(['install', release, CHART, '--namespace', c.ns, '-f', valuesFile(values)], { timeoutMs: 120_000 });
    expect(install.code, install.stderr).toBe(0);

    const deployment = json(await c.kubectlOk(['get', 'deployment', fullname, '-n', c.ns, '-o', 'json']));
    const pod = deployment.spec.template.spec;
    const container = (pod.containers as Obj[]).find((x) => x.name === 'operator')!;
    const env = await resolveEnv(container);
    const mounts = await mountVolumes(pod, container);
    const [command, ...commandArgs] = container.command as string[];
    expect(command).toBe('node');
    const args = [...commandArgs, ...(container.args as string[])].map((a) => onMounts(expand(a, env), mounts));
    // In a pod the operator finds its in-cluster ServiceAccount; here it is given the cluster's kubeconfig.
    child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env, KUBECONFIG: c.cluster.kubeconfigPath, DATABASE_URL: env.DATABASE_URL ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => output.push(...String(d).split('\n').filter(Boolean)));
    child.stderr!.on('data', (d) => output.push(...String(d).split('\n').filter(Boolean)));

    // The probes the chart declares, on the port it declares.
    const probePort = container.ports.find((p: Obj) => p.name === container.readinessProbe.httpGet.port).containerPort;
    expect(probePort).toBe(httpPort);
    await eventually(async () => (await get(container.livenessProbe.httpGet.path).catch(() => undefined))?.status === 200, { timeoutMs: 60_000, message: logs });
    await eventually(async () => (await get(container.readinessProbe.httpGet.path).catch(() => undefined))?.status === 200, { timeoutMs: 60_000, message: logs });
    expect(await (await get('/metrics')).text()).toMatch(/^# TYPE /m);

    // Leader election in the release namespace under the pod's name (--lease-namespace, --identity $(POD_NAME)).
    await eventually(async () => (await c.kubectl(['get', 'lease', 'shipway-operator', '-n', c.ns, '-o', 'jsonpath={.spec.holderIdentity}'])).stdout === podName, { timeoutMs: 30_000, message: logs });
    // The leader serves agents: its endpoint certificate goes into the agent namespace, with the names the chart gave.
    await eventually(async () => (await c.kubectl(['get', 'secret', 'shipway-agent-tls', '-n', c.ns])).code === 0, { timeoutMs: 30_000, message: logs });
    // PGlite keeps its files on the claim's volume (--data-dir).
    expect(readdirSync(mounts.get('/var/lib/shipway')!).length).toBeGreaterThan(0);
  }, 150_000);

  it('accepts the build webhook with the secret from the mounted file, and refuses it without', async () => {
    const body = JSON.stringify({ build_number: 7, build_status: 'success', apps: [{ name: 'web', image_tag: '1.2.3' }] });
    const headers = { 'content-type': 'application/json' };
    const refused = await get('/api/v1/builds/notify', { method: 'POST', headers, body });
    expect(refused.status).toBe(401);
    const accepted = await get('/api/v1/builds/notify', { method: 'POST', headers: { ...headers, authorization: `Bearer ${WEBHOOK_SECRET}` }, body });
    expect(accepted.status, await accepted.text()).toBe(200);
  });

  it('stops cleanly on SIGTERM, as the kubelet stops the pod', async () => {
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child!.kill('SIGTERM');
    expect(await exited, logs()).toBe(0);
    child = undefined;
  }, 60_000);
});
