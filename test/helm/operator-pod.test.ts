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
import { openScratchDatabase, postgresRequired, postgresUrl, type ScratchDatabase } from '../support/test-databases.ts';
import { eventually } from '../support/until.ts';
import { CHART, valuesFile } from './chart.ts';

const c = useCluster('helm-pod');
const scratch = mkdtempSync(join(tmpdir(), 'helm-pod-'));
const pods = new Set<Pod>();

afterAll(() => {
  for (const pod of pods) pod.child.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

interface Pod {
  name: string;
  child: ChildProcess;
  output: string[];
  /** The port the HTTP endpoint listens on (the chart's, unless the pod got ports of its own). */
  httpPort: number;
  /** Each mounted volume's directory, by mount path. */
  mounts: Map<string, string>;
  exited: Promise<number | null>;
  get(path: string, init?: RequestInit): Promise<Response>;
  logs(): string;
}

/** $(VAR) references in args, as the kubelet expands them from the container's env. */
const expand = (text: string, env: Record<string, string>) => text.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);

const secretData = async (name: string) => json(await c.kubectlOk(['get', 'secret', name, '-n', c.ns, '-o', 'json'])).data as Record<string, string>;

/** The container's env with valueFrom resolved: the downward API fields and Secret keys the chart uses. */
async function resolveEnv(container: Obj, podName: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const e of (container.env ?? []) as Obj[]) {
    if (e.value !== undefined) env[e.name] = expand(e.value, env);
    else if (e.valueFrom?.fieldRef) env[e.name] = ({ 'metadata.name': podName, 'metadata.namespace': c.ns } as Record<string, string>)[e.valueFrom.fieldRef.fieldPath]!;
    else if (e.valueFrom?.secretKeyRef) env[e.name] = Buffer.from((await secretData(e.valueFrom.secretKeyRef.name))[e.valueFrom.secretKeyRef.key]!, 'base64').toString('utf8');
    else throw new Error(`env ${e.name}: a valueFrom this test does not resolve: ${JSON.stringify(e.valueFrom)}`);
  }
  return env;
}

/** Each mounted volume as a directory of the pod's own (a Secret's items written into it); mountPath -> directory. */
async function mountVolumes(podName: string, spec: Obj, container: Obj): Promise<Map<string, string>> {
  const mounts = new Map<string, string>();
  for (const mount of (container.volumeMounts ?? []) as Obj[]) {
    const volume = (spec.volumes as Obj[]).find((v) => v.name === mount.name)!;
    // /tmp stays the host's: tsx writes its cache there, as it would into the pod's emptyDir.
    if (mount.mountPath === '/tmp') continue;
    const dir = join(scratch, podName, mount.name);
    mkdirSync(dir, { recursive: true });
    if (volume.secret) {
      const data = await secretData(volume.secret.secretName);
      for (const item of (volume.secret.items ?? Object.keys(data).map((key) => ({ key, path: key }))) as Obj[]) writeFileSync(join(dir, item.path), Buffer.from(data[item.key]!, 'base64'));
    }
    mounts.set(mount.mountPath, dir);
  }
  return mounts;
}

const onMounts = (arg: string, mounts: Map<string, string>) => {
  for (const [path, dir] of mounts) if (arg === path || arg.startsWith(`${path}/`)) return dir + arg.slice(path.length);
  return arg;
};

/**
 * Starts one pod of the installed Deployment as a process. In a pod the operator finds its in-cluster
 * ServiceAccount; here it gets the cluster's kubeconfig (KUBECONFIG). Pods have network namespaces of their
 * own; processes on one host do not, so a second replica is given other ports (`ownPorts`).
 */
async function startPod(deploymentName: string, podName: string, ownPorts?: { http: number; agents: number }): Promise<Pod> {
  const deployment = json(await c.kubectlOk(['get', 'deployment', deploymentName, '-n', c.ns, '-o', 'json']));
  const spec = deployment.spec.template.spec;
  const container = (spec.containers as Obj[]).find((x) => x.name === 'operator')!;
  const env = await resolveEnv(container, podName);
  const mounts = await mountVolumes(podName, spec, container);
  const [command, ...commandArgs] = container.command as string[];
  expect(command).toBe('node');
  const args = [...commandArgs, ...(container.args as string[])].map((a) => onMounts(expand(a, env), mounts));
  if (ownPorts) {
    args[args.indexOf('--http-port') + 1] = String(ownPorts.http);
    if (args.includes('--agent-port')) args[args.indexOf('--agent-port') + 1] = String(ownPorts.agents);
  }
  const httpPort = Number(args[args.indexOf('--http-port') + 1]);
  // The chart's probes name the port the --http-port flag opens.
  const probePort = container.ports.find((p: Obj) => p.name === container.readinessProbe.httpGet.port).containerPort;
  if (!ownPorts) expect(probePort).toBe(httpPort);
  // The Pod object a real cluster would have: the leading replica labels it for the agent Service.
  await c.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: podName, namespace: c.ns, labels: deployment.spec.template.metadata.labels }, spec: { containers: [{ name: 'operator', image: container.image }] } }) });
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env, KUBECONFIG: c.cluster.kubeconfigPath, DATABASE_URL: env.DATABASE_URL ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout!.on('data', (d) => output.push(...String(d).split('\n').filter(Boolean)));
  child.stderr!.on('data', (d) => output.push(...String(d).split('\n').filter(Boolean)));
  const pod: Pod = {
    name: podName, child, output, httpPort, mounts,
    exited: new Promise((resolve) => child.once('exit', (code) => {
      pods.delete(pod);
      resolve(code);
    })),
    get: (path, init) => fetch(`http://127.0.0.1:${httpPort}${path}`, { ...init, signal: AbortSignal.timeout(5_000) }),
    logs: () => `${podName}:\n${output.slice(-40).join('\n')}`,
  };
  pods.add(pod);
  return pod;
}

const answers = async (pod: Pod, path: string) => (await pod.get(path).catch(() => undefined))?.status === 200;
/** The pods the agent Service's selector picks (its `shipway.dev/leader` label included). */
const agentEndpoints = async (release: string) => {
  const selector = json(await c.kubectlOk(['get', 'service', `${release}-shipway-agents`, '-n', c.ns, '-o', 'json'])).spec.selector as Record<string, string>;
  const pods = await c.kubectlOk(['get', 'pods', '-n', c.ns, '-l', Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(','), '-o', 'jsonpath={.items[*].metadata.name}']);
  return pods.split(/\s+/).filter(Boolean);
};
const leaseHolder = async () => (await c.kubectl(['get', 'lease', 'shipway-operator', '-n', c.ns, '-o', 'jsonpath={.spec.holderIdentity}'])).stdout;
const helmInstall = async (release: string, values: Obj) => {
  const install = await c.cluster.helm(['install', release, CHART, '--namespace', c.ns, '-f', valuesFile(values)], { timeoutMs: 120_000 });
  expect(install.code, install.stderr).toBe(0);
};

describe('the operator started as the chart says (embedded PGlite)', () => {
  const release = `pod${Math.random().toString(36).slice(2, 7)}`;
  const WEBHOOK_SECRET = 'drone-shared-secret';
  let pod: Pod;

  it('runs with the installed Deployment command, args, env and volumes: probes answer, it leads under its pod name', async () => {
    await helmInstall(release, { http: { port: await freePort() }, agents: { port: await freePort(), hostnames: ['agents.example.com'] }, webhook: { secret: WEBHOOK_SECRET } });
    pod = await startPod(`${release}-shipway`, `${release}-shipway-7d9f8c6b5-x2x4q`);
    await eventually(() => answers(pod, '/healthz'), { timeoutMs: 60_000, message: pod.logs });
    await eventually(() => answers(pod, '/readyz'), { timeoutMs: 60_000, message: pod.logs });
    expect(await (await pod.get('/metrics')).text()).toMatch(/^# TYPE /m);
    // Leader election in the release namespace under the pod's name (--lease-namespace, --identity $(POD_NAME)).
    await eventually(async () => (await leaseHolder()) === pod.name, { timeoutMs: 30_000, message: pod.logs });
    // The leader serves agents: its endpoint certificate goes into the agent namespace.
    await eventually(async () => (await c.kubectl(['get', 'secret', 'shipway-agent-tls', '-n', c.ns])).code === 0, { timeoutMs: 30_000, message: pod.logs });
    // PGlite keeps its files on the claim's volume (--data-dir).
    expect(readdirSync(pod.mounts.get('/var/lib/shipway')!).length).toBeGreaterThan(0);
  }, 150_000);

  it('accepts the build webhook with the secret from the mounted file, and refuses it without', async () => {
    const body = JSON.stringify({ build_number: 7, build_status: 'success', apps: [{ name: 'web', image_tag: '1.2.3' }] });
    const headers = { 'content-type': 'application/json' };
    expect((await pod.get('/api/v1/builds/notify', { method: 'POST', headers, body })).status).toBe(401);
    const accepted = await pod.get('/api/v1/builds/notify', { method: 'POST', headers: { ...headers, authorization: `Bearer ${WEBHOOK_SECRET}` }, body });
    expect(accepted.status, await accepted.text()).toBe(200);
  });

  it('stops cleanly on SIGTERM, as the kubelet stops the pod', async () => {
    pod.child.kill('SIGTERM');
    expect(await pod.exited, pod.logs()).toBe(0);
  }, 60_000);
});

// PostgreSQL comes from scripts/with-postgres.sh (make test), as for the storage tests.
describe.skipIf(!postgresUrl() && !postgresRequired())('two replicas started as the chart says (PostgreSQL from a Secret)', () => {
  const release = `ha${Math.random().toString(36).slice(2, 7)}`;
  let database: ScratchDatabase | undefined;
  let first: Pod;
  let second: Pod;
  afterAll(async () => {
    for (const pod of pods) pod.child.kill('SIGKILL');
    await database?.dispose();
  });

  it('both become ready on the URL from the Secret; one leads, under its pod name', async () => {
    database = await openScratchDatabase('pg', { migrate: false });
    await c.kubectlOk(['create', 'secret', 'generic', 'history-db', '-n', c.ns, `--from-literal=url=${database.url}`]);
    await helmInstall(release, { replicaCount: 2, http: { port: await freePort() }, agents: { port: await freePort() }, database: { mode: 'external', external: { existingSecret: 'history-db', secretKey: 'url' } } });
    first = await startPod(`${release}-shipway`, `${release}-shipway-5c8d7f9b4-aaaaa`);
    second = await startPod(`${release}-shipway`, `${release}-shipway-5c8d7f9b4-bbbbb`, { http: await freePort(), agents: await freePort() });
    for (const pod of [first, second]) await eventually(() => answers(pod, '/readyz'), { timeoutMs: 60_000, message: pod.logs });
    // The history is in PostgreSQL (the URL from DATABASE_URL, printed with its password redacted).
    expect(first.logs()).toMatch(/history in postgres(ql)?:\/\//);
    await eventually(async () => [first.name, second.name].includes(await leaseHolder()), { timeoutMs: 30_000, message: () => first.logs() + second.logs() });
    // The agent Service selects the leader's pod only (standbys do not serve agents).
    const holder = await leaseHolder();
    await eventually(async () => JSON.stringify(await agentEndpoints(release)) === JSON.stringify([holder]), { timeoutMs: 20_000, message: () => first.logs() + second.logs() });
  }, 150_000);

  it('the leader stopping hands the Lease to the other replica', async () => {
    const holder = await leaseHolder();
    const [leader, standby] = holder === first.name ? [first, second] : [second, first];
    leader.child.kill('SIGTERM');
    expect(await leader.exited, leader.logs()).toBe(0);
    await eventually(async () => (await leaseHolder()) === standby.name, { timeoutMs: 30_000, message: standby.logs });
    // The label moved with the Lease: the stopped leader removed its own, the new one set its.
    await eventually(async () => JSON.stringify(await agentEndpoints(release)) === JSON.stringify([standby.name]), { timeoutMs: 20_000, message: standby.logs });
    standby.child.kill('SIGTERM');
    expect(await standby.exited, standby.logs()).toBe(0);
  }, 90_000);
});
