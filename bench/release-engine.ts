/**
 * The release engine under load (issue 4), the operator as it ships (`bin/shipway.js operator`):
 *
 * A. N Releases (default 1,000, BENCH_RELEASES), each with one Kubernetes target of its own (a Target and a
 *    1-replica Deployment, spread over 10 namespaces), one environment with `promotion: auto` and no
 *    pipeline (the implicit deploy), created through client-node by 16 concurrent writers as fast as the
 *    API accepts them. Reported: wall time from the first apply until every Release is Succeeded,
 *    throughput, reaction latency (apply → first patch of the workload) p50/p99, apply → Succeeded p50/p99,
 *    operator RSS (peak, settled), CPU and API requests; then the operator is restarted and the table says
 *    how many of the N Releases and Targets the new one reconciles.
 * B. M idle Releases (default 10,000, BENCH_IDLE), `promotion: manual` in their only environment, so the
 *    operator reconciles each one to Waiting and then holds it. Reported: how long the initial reconcile of
 *    all M took (first apply → all Waiting, and → the operator's last request), apply → Waiting p50/p99,
 *    operator RSS while holding them (and peak), CPU and API requests during the reconcile and while idle.
 *
 * Set-up, per scenario: a fresh Kubernetes API emulator (workload controllers on, pods ready after 20 ms,
 * an event log long enough that no watch falls off it), the CRDs and namespaces; the operator is started
 * on that empty cluster, then the Deployments and Targets are created under it, and the clock starts once
 * every Deployment is available and the operator has reconciled every Target to Online. The operator is
 * started first on purpose: started after more than 500 Targets exist, it reconciles only the first 500
 * (its informer does not follow list pages for custom resources; the restart row of A shows it).
 *
 * Where things run, and why:
 * - The operator is a child process of its own, `node bin/shipway.js operator --poll-interval 100
 *   --concurrency 32`, with its history in in-memory PGlite (the default without --database-url), so its
 *   RSS (VmRSS from /proc/<pid>/status, sampled every 200 ms) and CPU (/proc/<pid>/stat) are its alone;
 *   /proc/<pid>/schedstat says how long its main thread waited for a CPU while runnable.
 * - The emulator runs in this process. It is a separate process from the operator either way, so moving it
 *   out would not change what the two compete for; in-process, the benchmark observes the emulator's store
 *   directly (`store.subscribe`), so apply, first workload patch and phase changes are timed at the moment
 *   the API server commits them, with no watch stream of ours loading the server or adding delay, and it
 *   counts the operator's HTTP requests (and new connections) through the `http.server.request.start`
 *   diagnostics channel (the benchmark's own requests carry a User-Agent of their own and are left out).
 *   The CPU of this process (emulator + benchmark) and of every other process on the machine is printed
 *   next to the operator's: a saturated emulator, or other work competing for the cores, shows in the
 *   table rather than hiding in the operator's numbers. On a shared machine, run it when nothing else
 *   runs, and from a clean checkout (the operator is run from the working tree).
 *
 * "First workload patch" is the first change of the Deployment's metadata.generation after the Release
 * was applied: the deploy step's strategic merge patch of the container image bumps it, status writes by
 * the emulator's controllers do not.
 *
 * Every wait is bounded (BENCH_TIMEOUT_S per wait, default 900); when a scenario does not finish, the
 * table says how far it got instead of failing silently. The operator is always stopped (SIGTERM, then
 * SIGKILL), also on errors and Ctrl-C. Options: BENCH_SCENARIOS=A,B; BENCH_CPU_PROF=1 runs the operator
 * with `--cpu-prof` (profiles and the operator's logs in .tmp/bench/release-engine/); BENCH_TIMELINE=1
 * prints the operator's requests, CPU and RSS every second; BENCH_TRACE=<i> prints the API writes of A's
 * Release number i. Quick run: `BENCH_RELEASES=100 BENCH_IDLE=1000 npx tsx bench/release-engine.ts`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse } from 'yaml';
import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import { ApiextensionsV1Api, AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, setHeaderOptions } from '@kubernetes/client-node';
import { startEmulator, type RunningEmulator } from '../test/kube-api/emulator.ts';
import { workloadControllers } from '../test/kube-api/controllers/index.ts';
import type { StoreEvent } from '../test/kube-api/store.ts';

const RELEASES = Number(process.env.BENCH_RELEASES ?? 1_000);
const IDLE = Number(process.env.BENCH_IDLE ?? 10_000);
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_S ?? 900) * 1000;
const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
const NAMESPACES = 10;
const WRITERS = 16;
const POD_READY_DELAY_MS = 20;
const POLL_INTERVAL_MS = 100;
const CONCURRENCY = 32;
const SETTLE_MS = 10_000;
/** BENCH_TIMELINE=1: print, every second, the operator's requests by kind, its CPU and RSS (to see stalls). */
const TIMELINE = process.env.BENCH_TIMELINE === '1';
/** BENCH_TRACE=<i>: print the API writes of scenario A's Release number i and its Deployment, in time order. */
const TRACE = process.env.BENCH_TRACE === undefined ? undefined : Number(process.env.BENCH_TRACE);

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, '.tmp/bench/release-engine');
const GROUP = 'shipway.dev';
const VERSION = 'v1alpha1';
const TERMINAL = new Set(['Succeeded', 'Failed', 'Cancelled', 'RolledBack']);
const CLK_TCK = 100;

interface Row {
  benchmark: string;
  result: string;
  detail: string;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const ms = (v: number) => (!Number.isFinite(v) ? 'n/a' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${v.toFixed(0)} ms`);
const mb = (kb: number) => `${Math.round(kb / 1024)} MB`;
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));
const pad = (i: number) => String(i).padStart(5, '0');
const say = (line: string) => process.stderr.write(`[release-engine ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

/** Polls `check` until it holds or the deadline passes; returns whether it held. */
async function waitFor(check: () => boolean, timeoutMs: number, progress?: () => string): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let lastReport = Date.now();
  while (!check()) {
    if (Date.now() > deadline) return false;
    if (progress && Date.now() - lastReport > 10_000) {
      say(progress());
      lastReport = Date.now();
    }
    await sleep(50);
  }
  return true;
}

/** Runs `work(i)` for i in [0, count) with `writers` concurrent workers. */
async function inParallel(count: number, writers: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

// ---------------------------------------------------------------------------------------- API traffic

/** The benchmark's own requests carry this User-Agent, so that the traffic counts are the operator's. */
const BENCH_AGENT = 'shipway-release-engine-bench';
const asBench = setHeaderOptions('User-Agent', BENCH_AGENT);

/** `GET releases`, `PATCH releases/status`, `GET deployments (list)`, `GET releases (watch)`..., and the object's name. */
function requestKind(method: string, url: string): { kind: string; name?: string } {
  const [path, query = ''] = url.split('?') as [string, string?];
  const parts = path.split('/').filter(Boolean);
  let rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  const collection = rest.length < 2;
  const watch = /(^|&)watch=(true|1)/.test(query);
  const kind = `${method} ${rest[0] ?? path}${rest[2] ? `/${rest[2]}` : ''}${collection && method === 'GET' ? (watch ? ' (watch)' : ' (list)') : ''}`;
  return collection ? { kind } : { kind, name: `${parts[parts.indexOf('namespaces') + 1]}/${rest[1]}` };
}

/**
 * Every HTTP request the in-process emulator serves, through the `http.server.request.start` diagnostics
 * channel: by kind, and how many arrived on a connection not seen before (a new TCP + TLS handshake).
 */
class ApiTraffic {
  private readonly sockets = new WeakSet<object>();
  requests = 0;
  connections = 0;
  /** When the operator last asked for something other than its Lease. */
  lastWorkAt = performance.now();
  readonly byKind = new Map<string, number>();
  /** The distinct objects read one by one, by kind (`GET releases` → namespace/name), since `resetNames`. */
  readonly names = new Map<string, Set<string>>();

  constructor() {
    subscribe('http.server.request.start', (message) => {
      const { request, socket } = message as { request: IncomingMessage; socket: object };
      if (request.headers['user-agent'] === BENCH_AGENT) return;
      this.requests++;
      if (!this.sockets.has(socket)) {
        this.sockets.add(socket);
        this.connections++;
      }
      const { kind, name } = requestKind(request.method ?? 'GET', request.url ?? '');
      if (name && kind.startsWith('GET ')) {
        const set = this.names.get(kind) ?? new Set<string>();
        this.names.set(kind, set.add(name));
      }
      if (!/^\S+ leases\b/.test(kind)) this.lastWorkAt = performance.now();
      this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + 1);
    });
  }

  resetNames(): void {
    this.names.clear();
  }

  distinct(kind: string): number {
    return this.names.get(kind)?.size ?? 0;
  }

  /** Counts since this call, when the returned function is called. */
  meter(): () => { requests: number; connections: number; top: string } {
    const requests = this.requests;
    const connections = this.connections;
    const byKind = new Map(this.byKind);
    return () => {
      const kinds = [...this.byKind].map(([k, v]) => [k, v - (byKind.get(k) ?? 0)] as const).filter(([, v]) => v > 0);
      kinds.sort((a, b) => b[1] - a[1]);
      return { requests: this.requests - requests, connections: this.connections - connections, top: kinds.slice(0, 6).map(([k, v]) => `${k} ${v}`).join(', ') };
    };
  }
}

const traffic = new ApiTraffic();

// ------------------------------------------------------------------------------------ the operator process

/** The operator as a child process, with its RSS and CPU sampled from /proc. */
class OperatorProcess {
  private readonly child: ChildProcess;
  private readonly tail: string[] = [];
  private readonly sampler: NodeJS.Timeout;
  private readonly reportDir: string;
  private timeline?: NodeJS.Timeout;
  private leading = false;
  private exited: { code: number | null; signal: string | null } | undefined;
  private readonly exitedPromise: Promise<void>;
  peakKb = 0;
  lastKb = 0;
  errorLines = 0;
  samples: { at: number; kb: number }[] = [];

  constructor(kubeconfigPath: string, scenario: string) {
    mkdirSync(OUT, { recursive: true });
    const log = createWriteStream(join(OUT, `operator-${scenario}.log`));
    this.reportDir = join(OUT, `reports-${scenario}`);
    rmSync(this.reportDir, { recursive: true, force: true });
    mkdirSync(this.reportDir, { recursive: true });
    const nodeArgs = [
      // SIGUSR2 makes Node write a diagnostic report: its heap statistics split the RSS (see memory()).
      '--report-on-signal', '--report-signal=SIGUSR2', '--report-directory', this.reportDir,
      ...(CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', OUT, '--cpu-prof-name', `operator-${scenario}.cpuprofile`] : []),
    ];
    this.child = spawn(
      process.execPath,
      [...nodeArgs, 'bin/shipway.js', 'operator', '--kubeconfig', kubeconfigPath, '--lease-namespace', 'default', '--http-port', '0', '--poll-interval', String(POLL_INTERVAL_MS), '--concurrency', String(CONCURRENCY)],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DATABASE_URL: '' } },
    );
    const onLine = (line: string) => {
      log.write(`${line}\n`);
      if (line.includes(': leading')) this.leading = true;
      if (/error/i.test(line)) this.errorLines++;
      this.tail.push(line);
      if (this.tail.length > 30) this.tail.shift();
    };
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      let buffer = '';
      stream.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8');
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          onLine(buffer.slice(0, nl));
          buffer = buffer.slice(nl + 1);
        }
      });
    }
    this.exitedPromise = new Promise((r) =>
      this.child.once('exit', (code, signal) => {
        this.exited = { code, signal };
        log.end();
        r();
      }),
    );
    this.sampler = setInterval(() => this.sample(), 200);
    this.sampler.unref();
    if (TIMELINE) {
      let cpu = 0;
      let counts = traffic.meter();
      this.timeline = setInterval(() => {
        const now = this.cpuSeconds();
        const c = counts();
        counts = traffic.meter();
        say(`operator cpu ${pct(now - cpu)} rss ${mb(this.lastKb)}; ${c.requests} requests: ${c.top}`);
        cpu = now;
      }, 1000);
      this.timeline.unref();
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.exited === undefined;
  }

  /** The last log lines, for a report when something goes wrong. */
  lastLines(n = 10): string {
    return this.tail.slice(-n).join('\n');
  }

  rssKb(): number {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return m ? Number(m[1]) : 0;
    } catch {
      return 0;
    }
  }

  /** User + system CPU seconds so far. */
  cpuSeconds(): number {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    } catch {
      return NaN;
    }
  }

  /** Seconds the operator's main (JavaScript) thread was runnable but waited for a CPU: it was starved. */
  runQueueWaitSeconds(): number {
    try {
      return Number(readFileSync(`/proc/${this.pid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
    } catch {
      return NaN;
    }
  }

  private sample(): void {
    if (!this.alive) return;
    const kb = this.rssKb();
    if (kb === 0) return;
    this.lastKb = kb;
    this.peakKb = Math.max(this.peakKb, kb);
    this.samples.push({ at: performance.now(), kb });
  }

  /**
   * What the RSS is made of, from a Node diagnostic report (SIGUSR2): the V8 heap (used / committed) and
   * external memory (ArrayBuffers and the like: PGlite's WebAssembly memory counts there or in the rest).
   * The report also lists environment variables, so it is deleted as soon as it is read.
   */
  async memory(): Promise<string> {
    if (!this.alive) return 'n/a (the operator exited)';
    const rss = this.rssKb();
    this.child.kill('SIGUSR2');
    let file: string | undefined;
    await waitFor(() => (file = readdirSync(this.reportDir).find((f) => f.endsWith('.json'))) !== undefined, 30_000);
    if (!file) return 'n/a (no report)';
    await sleep(500);
    try {
      const heap = JSON.parse(readFileSync(join(this.reportDir, file), 'utf8')).javascriptHeap as { usedMemory: number; totalCommittedMemory: number; externalMemory: number };
      const mib = (bytes: number) => `${Math.round(bytes / 1048576)} MB`;
      const rest = rss * 1024 - heap.totalCommittedMemory - heap.externalMemory;
      return `RSS ${mb(rss)}: V8 heap ${mib(heap.usedMemory)} used of ${mib(heap.totalCommittedMemory)} committed, external ${mib(heap.externalMemory)}, the rest ${mib(rest)} (WebAssembly, code, native)`;
    } catch (error) {
      return `n/a (${error instanceof Error ? error.message : String(error)})`;
    } finally {
      rmSync(join(this.reportDir, file), { force: true });
    }
  }

  resetPeak(): void {
    this.sample();
    this.peakKb = this.lastKb;
  }

  /** The median RSS over the last `windowMs`. */
  settledKb(windowMs: number): number {
    const since = performance.now() - windowMs;
    return percentile(this.samples.filter((s) => s.at >= since).map((s) => s.kb), 50);
  }

  async waitLeading(timeoutMs: number): Promise<void> {
    if (!(await waitFor(() => this.leading || !this.alive, timeoutMs))) throw new Error(`the operator did not start leading in ${timeoutMs} ms:\n${this.lastLines()}`);
    if (!this.alive) throw new Error(`the operator exited (${JSON.stringify(this.exited)}):\n${this.lastLines()}`);
  }

  async stop(): Promise<void> {
    clearInterval(this.sampler);
    clearInterval(this.timeline);
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    const stopped = await Promise.race([this.exitedPromise.then(() => true), sleep(CPU_PROF ? 60_000 : 15_000).then(() => false)]);
    if (!stopped) {
      say('the operator did not stop within its grace period; killing it');
      this.child.kill('SIGKILL');
      await this.exitedPromise;
    }
  }

  /** For process exit: no await possible. */
  kill(): void {
    if (this.alive) this.child.kill('SIGKILL');
  }
}

/** CPU busy seconds of the whole machine, from /proc/stat. */
function machineBusySeconds(): number {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = fields as [number, number, number, number, number, number, number, number];
    return (user + nice + system + irq + softirq + steal) / CLK_TCK;
  } catch {
    return NaN;
  }
}

const pct = (share: number) => `${Math.round(share * 100)}%`;

/**
 * CPU over an interval: the operator's, how long its main thread waited for a CPU while runnable, this
 * process's (emulator + benchmark), and everything else on the machine (other work competing for the cores).
 */
function cpuMeter(operator: OperatorProcess) {
  const t0 = performance.now();
  const operator0 = operator.cpuSeconds();
  const wait0 = operator.runQueueWaitSeconds();
  const self0 = process.cpuUsage();
  const machine0 = machineBusySeconds();
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const op = operator.cpuSeconds() - operator0;
    const wait = operator.runQueueWaitSeconds() - wait0;
    const selfUsage = process.cpuUsage(self0);
    const self = (selfUsage.user + selfUsage.system) / 1e6;
    const others = Math.max(0, machineBusySeconds() - machine0 - op - self);
    return {
      seconds,
      operator: op,
      result: `operator ${op.toFixed(1)} s (${pct(op / seconds)})`,
      detail: `of ${seconds.toFixed(1)} s (100% = one core, ${cpus().length} cores); operator main thread waited ${wait.toFixed(1)} s for a CPU; emulator + benchmark ${self.toFixed(1)} s (${pct(self / seconds)}); other processes ${others.toFixed(1)} s (${pct(others / seconds)})`,
    };
  };
}

const running = new Set<OperatorProcess>();
process.on('exit', () => {
  for (const op of running) op.kill();
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const op of running) op.kill();
    process.exit(130);
  });
}

// ------------------------------------------------------------------------------------------ the cluster

interface Cluster {
  emulator: RunningEmulator;
  kubeconfigPath: string;
  custom: CustomObjectsApi;
  apps: AppsV1Api;
  core: CoreV1Api;
  stop(): Promise<void>;
}

async function startCluster(scenario: string): Promise<Cluster> {
  const kubeconfigPath = join(OUT, `kubeconfig-${scenario}`);
  const emulator = await startEmulator({ port: 0, kubeconfigPath, podReadyDelayMs: POD_READY_DELAY_MS, controllers: workloadControllers, eventLogCapacity: 500_000 });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const extensions = kubeConfig.makeApiClient(ApiextensionsV1Api);
  for (const file of readdirSync(join(ROOT, 'crds')).filter((f) => f.endsWith('.yaml'))) {
    await extensions.createCustomResourceDefinition({ body: parse(readFileSync(join(ROOT, 'crds', file), 'utf8')) }, asBench);
  }
  const established = () =>
    emulator.api.store
      .list('apiextensions.k8s.io/customresourcedefinitions')
      .filter((c) => c.spec?.group === GROUP && c.status?.conditions?.some((x: { type: string; status: string }) => x.type === 'Established' && x.status === 'True')).length >= 4;
  if (!(await waitFor(established, 30_000))) throw new Error('the CRDs were not established');
  return {
    emulator,
    kubeconfigPath,
    custom: kubeConfig.makeApiClient(CustomObjectsApi),
    apps: kubeConfig.makeApiClient(AppsV1Api),
    core: kubeConfig.makeApiClient(CoreV1Api),
    stop: () => emulator.stop(),
  };
}

const deployment = (namespace: string, name: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'registry.local/bench/app:1.0.0' }] } },
  },
});

const target = (namespace: string, name: string, workload: string) => ({
  apiVersion: `${GROUP}/${VERSION}`,
  kind: 'Target',
  metadata: { name, namespace },
  spec: { type: 'kubernetes', environment: 'prod', kubernetes: { namespace, kind: 'Deployment', name: workload, container: 'app' } },
});

const release = (namespace: string, name: string, targetName: string, promotion: 'auto' | 'manual') => ({
  apiVersion: `${GROUP}/${VERSION}`,
  kind: 'Release',
  metadata: { name, namespace },
  spec: { project: 'bench', version: '1.1.0', environments: [{ name: 'prod', promotion, targets: { names: [targetName] } }] },
});

/** Starts the operator on an empty cluster (CRDs and namespaces only) and waits until it leads. */
async function startOperator(cluster: Cluster, scenario: string): Promise<{ operator: OperatorProcess; leadingMs: number }> {
  const started = performance.now();
  const operator = new OperatorProcess(cluster.kubeconfigPath, scenario);
  running.add(operator);
  await operator.waitLeading(120_000);
  return { operator, leadingMs: performance.now() - started };
}

/**
 * Deployments (until all are available) and Targets, with the operator already running: it sees the
 * Targets through its watch and the wait ends when it has reconciled every one of them to Online.
 */
async function createWorkloads(cluster: Cluster, operator: OperatorProcess, workloads: { namespace: string; deployment: string; target: string }[]): Promise<void> {
  await inParallel(workloads.length, WRITERS, async (i) => {
    const w = workloads[i]!;
    await cluster.apps.createNamespacedDeployment({ namespace: w.namespace, body: deployment(w.namespace, w.deployment) }, asBench);
    await cluster.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: w.namespace, plural: 'targets', body: target(w.namespace, w.target, w.deployment) }, asBench);
  });
  const store = cluster.emulator.api.store;
  const count = (resource: string, ok: (o: Record<string, { phase?: string; availableReplicas?: number } | undefined>) => boolean) => store.list(resource).filter(ok).length;
  const available = () => count('apps/deployments', (d) => d.status?.availableReplicas === 1);
  const online = () => count(`${GROUP}/targets`, (t) => t.status?.phase === 'Online');
  const ready = () => (available() >= workloads.length && online() >= workloads.length) || !operator.alive;
  if (!(await waitFor(ready, 300_000, () => `deployments available ${available()}/${workloads.length}, targets online ${online()}/${workloads.length}`)) || !operator.alive) {
    throw new Error(`the Deployments did not become available or the operator did not reconcile the Targets (${available()} available, ${online()} online of ${workloads.length}):\n${operator.lastLines()}`);
  }
  await sleep(3000);
}

async function createNamespaces(cluster: Cluster, namespaces: string[]): Promise<void> {
  for (const ns of namespaces) await cluster.core.createNamespace({ body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } }, asBench);
}

// ------------------------------------------------------------------------------------------ scenario A

async function scenarioA(rows: Row[]): Promise<void> {
  const n = RELEASES;
  say(`scenario A: ${n} releases with Kubernetes targets`);
  const cluster = await startCluster('a');
  let operator: OperatorProcess | undefined;
  try {
    const namespaces = Array.from({ length: Math.min(NAMESPACES, n) }, (_, i) => `bench-a-${i}`);
    const items = Array.from({ length: n }, (_, i) => ({ namespace: namespaces[i % namespaces.length]!, index: i, deployment: `w-${pad(i)}`, target: `t-${pad(i)}`, release: `r-${pad(i)}` }));
    const byRelease = new Map(items.map((it) => [`${it.namespace}/${it.release}`, it.index]));
    const byDeployment = new Map(items.map((it) => [`${it.namespace}/${it.deployment}`, it.index]));
    await createNamespaces(cluster, namespaces);
    const started = await startOperator(cluster, 'a');
    operator = started.operator;
    const setupStart = performance.now();
    await createWorkloads(cluster, operator, items);
    const baselineKb = operator.rssKb();
    const baselineMemory = await operator.memory();
    say(`${n} Deployments available and ${n} Targets Online; applying the Releases`);
    rows.push({ benchmark: 'A. operator start (spawn → leading, empty cluster)', result: ms(started.leadingMs), detail: `history in in-memory PGlite (the default); RSS ${mb(operator.peakKb)} peak while starting` });
    rows.push({ benchmark: `A. set-up: ${n} Deployments available, ${n} Targets Online`, result: ms(performance.now() - setupStart), detail: `then, before any Release, operator ${baselineMemory}` });

    const appliedAt = new Array<number>(n).fill(NaN);
    const patchedAt = new Array<number>(n).fill(NaN);
    const doneAt = new Array<number>(n).fill(NaN);
    const phases = new Array<string>(n).fill('');
    let done = 0;
    let patched = 0;
    const trace: string[] = [];
    const traced = TRACE === undefined ? undefined : items[TRACE];
    const unsubscribe = cluster.emulator.api.store.subscribe((e: StoreEvent) => {
      const key = `${e.object.metadata?.namespace}/${e.object.metadata?.name}`;
      if (traced && e.object.metadata?.namespace === traced.namespace && [traced.release, traced.deployment, traced.target].some((n) => String(e.object.metadata?.name).startsWith(n))) {
        trace.push(`${(performance.now() / 1000).toFixed(3)} ${e.type} ${e.resource} ${e.object.metadata?.name} gen=${e.object.metadata?.generation} phase=${e.object.status?.phase ?? ''} ${e.resource.endsWith('events') ? `${e.object.reason}: ${e.object.message}` : ''}`);
      }
      if (e.resource === `${GROUP}/releases`) {
        const i = byRelease.get(key);
        if (i === undefined) return;
        const now = performance.now();
        if (e.type === 'ADDED') appliedAt[i] = now;
        const phase = e.object.status?.phase as string | undefined;
        if (phase && TERMINAL.has(phase) && Number.isNaN(doneAt[i]!)) {
          doneAt[i] = now;
          phases[i] = phase;
          done++;
        }
      } else if (e.resource === 'apps/deployments' && e.type === 'MODIFIED') {
        const i = byDeployment.get(key);
        if (i === undefined || !Number.isNaN(patchedAt[i]!)) return;
        if (Number(e.object.metadata?.generation) !== Number(e.previous?.metadata?.generation)) {
          patchedAt[i] = performance.now();
          patched++;
        }
      }
    });

    operator.resetPeak();
    const meter = cpuMeter(operator);
    const requests = traffic.meter();
    const start = performance.now();
    await inParallel(n, WRITERS, (i) => {
      const it = items[i]!;
      return cluster.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: it.namespace, plural: 'releases', body: release(it.namespace, it.release, it.target, 'auto') }, asBench);
    });
    const applySeconds = (performance.now() - start) / 1000;
    say(`${n} Releases applied in ${applySeconds.toFixed(1)} s; waiting for Succeeded`);
    const finished = await waitFor(() => done >= n || !operator!.alive, TIMEOUT_MS, () => `patched ${patched}/${n}, finished ${done}/${n}, operator RSS ${mb(operator!.lastKb)}`);
    const usage = meter();
    const api = requests();
    unsubscribe();
    if (trace.length) say(`trace of ${traced!.namespace}/${traced!.release}:\n${trace.join('\n')}`);

    const succeeded = phases.filter((p) => p === 'Succeeded').length;
    const otherPhases = Object.entries(phases.reduce<Record<string, number>>((acc, p) => (p && p !== 'Succeeded' ? ((acc[p] = (acc[p] ?? 0) + 1), acc) : acc), {}));
    const reaction = patchedAt.map((t, i) => t - appliedAt[i]!).filter((v) => !Number.isNaN(v));
    const toDone = doneAt.map((t, i) => t - appliedAt[i]!).filter((v) => !Number.isNaN(v));
    const lastDone = Math.max(...doneAt.filter((v) => !Number.isNaN(v)), start);
    const reached = finished && done >= n ? 'all' : `NOT all (${operator.alive ? `timeout after ${Math.round(TIMEOUT_MS / 1000)} s` : 'the operator exited'})`;

    rows.push({ benchmark: `A. apply ${n} Releases (client-node, ${WRITERS} writers)`, result: `${Math.round(n / applySeconds)} releases/s`, detail: `${applySeconds.toFixed(1)} s to create them all` });
    rows.push({
      benchmark: `A. ${n} Releases apply → Succeeded`,
      result: `${((lastDone - start) / 1000).toFixed(1)} s`,
      detail: `${reached}: ${succeeded}/${n} Succeeded${otherPhases.length ? `, ${otherPhases.map(([p, c]) => `${c} ${p}`).join(', ')}` : ''}; ${patched}/${n} workloads patched`,
    });
    rows.push({ benchmark: 'A. throughput', result: `${(succeeded / ((lastDone - start) / 1000)).toFixed(1)} releases/s`, detail: 'Succeeded Releases / (first apply → last Succeeded)' });
    rows.push({ benchmark: 'A. reaction: apply → first workload patch', result: `p50 ${ms(percentile(reaction, 50))}`, detail: `p99 ${ms(percentile(reaction, 99))}, max ${ms(Math.max(...reaction))}; ${reaction.length} samples` });
    rows.push({ benchmark: 'A. apply → Succeeded, per Release', result: `p50 ${ms(percentile(toDone, 50))}`, detail: `p99 ${ms(percentile(toDone, 99))}, max ${ms(Math.max(...toDone))}` });
    rows.push({ benchmark: 'A. operator RSS, peak during the run', result: mb(operator.peakKb), detail: `${mb(baselineKb)} before the first apply; sampled every 200 ms` });
    rows.push({ benchmark: 'A. CPU, first apply → all finished', result: usage.result, detail: usage.detail });
    rows.push({ benchmark: 'A. operator API requests, first apply → all finished', result: `${Math.round(api.requests / n)} per Release`, detail: `${api.requests} requests (${Math.round(api.requests / usage.seconds)}/s) on ${api.connections} new connections; ${api.top}` });
    say(`settling for ${SETTLE_MS / 1000} s`);
    await sleep(SETTLE_MS);
    rows.push({ benchmark: `A. operator RSS, settled (${n} finished Releases)`, result: mb(operator.settledKb(SETTLE_MS / 2)), detail: `median over the last ${SETTLE_MS / 2000} s of ${SETTLE_MS / 1000} s idle; operator log: ${operator.errorLines} lines with "error"` });
    rows.push({ benchmark: 'A. operator memory, settled', result: mb(operator.rssKb()), detail: await operator.memory() });
    if (!finished || done < n) say(`scenario A did not finish; last operator lines:\n${operator.lastLines()}`);

    // A restart: the new operator lists what exists and reconciles every Release and Target once.
    await operator.stop();
    running.delete(operator);
    traffic.resetNames();
    const restart = await startOperator(cluster, 'a-restart');
    operator = restart.operator;
    const restartStart = performance.now();
    const quiet = await waitFor(() => performance.now() - traffic.lastWorkAt > 5000 && performance.now() - restartStart > 5000, TIMEOUT_MS);
    const releasesSeen = traffic.distinct('GET releases');
    const targetsSeen = traffic.distinct('GET targets');
    rows.push({
      benchmark: `A. operator restart with ${n} Releases and ${n} Targets`,
      result: `${releasesSeen}/${n} Releases, ${targetsSeen}/${n} Targets reconciled`,
      detail: `leading after ${ms(restart.leadingMs)}; ${quiet ? `quiet ${ms(traffic.lastWorkAt - restartStart)} after leading` : 'never quiet'}; RSS ${mb(operator.lastKb)}${releasesSeen < n || targetsSeen < n ? '; objects the restarted operator never read are not in its caches' : ''}`,
    });
  } finally {
    if (operator) {
      await operator.stop();
      running.delete(operator);
    }
    await cluster.stop();
  }
}

// ------------------------------------------------------------------------------------------ scenario B

async function scenarioB(rows: Row[]): Promise<void> {
  const m = IDLE;
  say(`scenario B: ${m} idle releases`);
  const cluster = await startCluster('b');
  let operator: OperatorProcess | undefined;
  try {
    const namespaces = Array.from({ length: Math.min(NAMESPACES, m) }, (_, i) => `bench-b-${i}`);
    await createNamespaces(cluster, namespaces);
    operator = (await startOperator(cluster, 'b')).operator;
    await createWorkloads(cluster, operator, namespaces.map((ns) => ({ namespace: ns, deployment: 'w-idle', target: 't-idle' })));
    const baselineKb = operator.rssKb();
    const baselineMemory = await operator.memory();

    const items = Array.from({ length: m }, (_, i) => ({ namespace: namespaces[i % namespaces.length]!, release: `r-${pad(i)}` }));
    const byRelease = new Map(items.map((it, i) => [`${it.namespace}/${it.release}`, i]));
    const appliedAt = new Array<number>(m).fill(NaN);
    const waitingAt = new Array<number>(m).fill(NaN);
    let waiting = 0;
    let releaseWrites = 0;
    const unsubscribe = cluster.emulator.api.store.subscribe((e: StoreEvent) => {
      if (e.resource !== `${GROUP}/releases`) return;
      const i = byRelease.get(`${e.object.metadata?.namespace}/${e.object.metadata?.name}`);
      if (i === undefined) return;
      const now = performance.now();
      releaseWrites++;
      if (e.type === 'ADDED') appliedAt[i] = now;
      if (e.object.status?.phase === 'Waiting' && Number.isNaN(waitingAt[i]!)) {
        waitingAt[i] = now;
        waiting++;
      }
    });

    operator.resetPeak();
    const meter = cpuMeter(operator);
    const requests = traffic.meter();
    const start = performance.now();
    await inParallel(m, WRITERS, (i) => {
      const it = items[i]!;
      return cluster.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: it.namespace, plural: 'releases', body: release(it.namespace, it.release, 't-idle', 'manual') }, asBench);
    });
    const applyEnd = performance.now();
    const applySeconds = (applyEnd - start) / 1000;
    say(`${m} Releases applied in ${applySeconds.toFixed(1)} s; waiting until all are Waiting`);
    const reachedAll = await waitFor(() => waiting >= m || !operator!.alive, TIMEOUT_MS, () => `waiting ${waiting}/${m}, operator RSS ${mb(operator!.lastKb)}`);
    const allWaiting = performance.now();
    // The initial reconcile ends when the operator stops working: no request but its Lease's for 5 s
    // (a Release's last pass, after its Waiting status was written, reads it once more).
    const quiet = reachedAll && (await waitFor(() => performance.now() - traffic.lastWorkAt > 5000, TIMEOUT_MS, () => `waiting for the operator to go quiet; ${traffic.requests} requests so far`));
    const quietAt = quiet ? traffic.lastWorkAt : performance.now();
    const usage = meter();
    const api = requests();
    const toWaiting = waitingAt.map((t, i) => t - appliedAt[i]!).filter((v) => !Number.isNaN(v));

    rows.push({ benchmark: `B. apply ${m} idle Releases (promotion: manual)`, result: `${Math.round(m / applySeconds)} releases/s`, detail: `${applySeconds.toFixed(1)} s to create them all` });
    rows.push({
      benchmark: `B. initial reconcile: apply → all ${m} Waiting`,
      result: `${((allWaiting - start) / 1000).toFixed(1)} s`,
      detail: `${reachedAll && waiting >= m ? 'all' : `NOT all: ${waiting}/${m}`}; ${((allWaiting - applyEnd) / 1000).toFixed(1)} s after the last apply; ${(waiting / ((allWaiting - start) / 1000)).toFixed(0)} releases/s`,
    });
    rows.push({
      benchmark: 'B. initial reconcile: apply → operator quiet',
      result: `${((quietAt - start) / 1000).toFixed(1)} s`,
      detail: quiet ? `its last request (but the Lease's) ${((quietAt - allWaiting) / 1000).toFixed(1)} s after all were Waiting` : 'the operator did not go quiet for 5 s',
    });
    rows.push({ benchmark: 'B. apply → Waiting, per Release', result: `p50 ${ms(percentile(toWaiting, 50))}`, detail: `p99 ${ms(percentile(toWaiting, 99))}, max ${ms(Math.max(...toWaiting))}` });
    rows.push({ benchmark: 'B. CPU, first apply → operator quiet', result: usage.result, detail: `${usage.detail}; ${((usage.operator / Math.max(1, waiting)) * 1000).toFixed(0)} ms operator CPU per Release` });
    rows.push({ benchmark: 'B. operator API requests, first apply → quiet', result: `${(api.requests / m).toFixed(1)} per Release`, detail: `${api.requests} requests (${Math.round(api.requests / usage.seconds)}/s) on ${api.connections} new connections; ${api.top}` });
    const writesBefore = releaseWrites;
    const idleMeter = cpuMeter(operator);
    const idleRequests = traffic.meter();
    await sleep(SETTLE_MS);
    const idle = idleMeter();
    const idleApi = idleRequests();
    const heldWrites = releaseWrites - writesBefore;
    unsubscribe();
    rows.push({ benchmark: `B. operator RSS holding ${m} idle Releases`, result: mb(operator.settledKb(SETTLE_MS)), detail: `median over ${SETTLE_MS / 1000} s idle; ${mb(baselineKb)} before the first apply (${namespaces.length} Targets, no Release); peak ${mb(operator.peakKb)}` });
    rows.push({ benchmark: `B. operator memory holding ${m} idle Releases`, result: mb(operator.rssKb()), detail: `${await operator.memory()}; before the first apply: ${baselineMemory}` });
    rows.push({ benchmark: 'B. CPU while holding them', result: idle.result, detail: `${idle.detail}; operator log: ${operator.errorLines} lines with "error"` });
    rows.push({ benchmark: 'B. operator API requests while holding them', result: `${(idleApi.requests / idle.seconds).toFixed(1)}/s`, detail: `${idleApi.requests} requests on ${idleApi.connections} new connections in ${idle.seconds.toFixed(0)} s; ${idleApi.top || 'none'}; ${heldWrites} Release writes` });
    if (!reachedAll || waiting < m) say(`scenario B did not finish; last operator lines:\n${operator.lastLines()}`);
  } finally {
    if (operator) {
      await operator.stop();
      running.delete(operator);
    }
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const rows: Row[] = [];
  const scenarios = (process.env.BENCH_SCENARIOS ?? 'A,B').split(',').map((s) => s.trim().toUpperCase());
  try {
    if (scenarios.includes('A') && RELEASES > 0) await scenarioA(rows);
    if (scenarios.includes('B') && IDLE > 0) await scenarioB(rows);
  } finally {
    console.table(rows);
    writeFileSync(join(OUT, 'last-table.json'), JSON.stringify(rows, null, 2));
  }
}

await main();
