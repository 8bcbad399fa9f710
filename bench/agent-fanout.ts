/**
 * Fan-out of one script update (issue 7): N script targets (BENCH_FANOUT_TARGETS, default 200) on M agents
 * (BENCH_FANOUT_AGENTS, default 20), side by side with Ansible running the same script on N inventory hosts
 * with forks = M (BENCH_FANOUT_FORKS), local connection: wall time of each, per target, and the ratio.
 * Run with `make bench` or `npx tsx bench/agent-fanout.ts`; progress goes to stderr, the table to stdout.
 *
 * RESULTS
 * Measured 2026-11-27 on a 2-vCPU machine (Node 20.20, ansible-core 2.14.18 from Debian's `ansible` 7.7), at the
 * defaults (200 targets, 20 agents, forks=20). The machine was shared with other sessions' benchmarks and
 * tests: load average 9-21 throughout, both CPUs ~100% busy in every run, so the absolute times are
 * pessimistic; the ratio is what to read. BENCH_FANOUT_ROUNDS=3 (medians), with the operator's UDP receive
 * buffer at 4 MiB (quic-transport.ts in the working tree at the time carried that change, made by someone
 * else alongside this benchmark):
 *   Shipway engine, first Release (install), apply → Succeeded   36.98 s   185 ms/target   0.31× Ansible's update
 *   Shipway engine, update Release, apply → Succeeded            39.61 s   198 ms/target   0.33× (3.0× faster)
 *     (runs 44.27, 39.61, 39.61 s; every script had run by +20.2 s)
 *   Shipway hub dispatch only, 200 updates in flight             20.23 s   101 ms/target   0.17× (6.0× faster)
 *   Ansible, first run (install)                                212.96 s  1065 ms/target
 *   Ansible, update run                                         120.36 s   602 ms/target   1
 *     (runs 116.85, 120.36, 125.84 s)
 * A single run just before (less load): engine update 24.52 s, hub 16.94 s, Ansible update 83.61 s (0.29×).
 * Without that change (the operator's socket at net.core.rmem_default, 208 KiB; four runs): engine update
 * 68.7-160.6 s, hub dispatch 107.9-158.5 s, Ansible update 73.8-132.7 s. Every script had run by +15-24 s,
 * but the operator's UDP socket dropped 1,200-1,550 datagrams per run while its event loop stalled (3-11 s:
 * GC and TLS handshakes to the API server, on busy CPUs), and afterwards one to five agents' results stopped
 * arriving until the operator's heartbeat check closed their sessions (30 s) and the agents reconnected and
 * re-sent their journaled results — nothing ran twice, but the last targets finished 60-140 s late.
 * Idle, with 200 Targets Online and no Release: 300-1,250 API requests per 20 s (GET secrets, GET targets,
 * PATCH targets/status: the Target controller re-reads each Target and its agent's credential Secret on a
 * timer tied to the agent's heartbeats, writes the new lastSeenAt, and reconciles again on its own write;
 * client-node opens a new TLS connection for each request) and 2.6-10 s of operator CPU per 20 s.
 *
 * HOW
 * Shipway, measured whole:
 * - The Kubernetes API emulator runs as a child process (`test/kube-api/main.ts`, as `make kube`), so the API
 *   server does not share the operator's thread; the operator runs in this process (`startOperator`, as in
 *   scripts/demo.ts and test/engine/engine-fixture.ts) with its agent endpoint on 127.0.0.1, the CRDs it
 *   installs itself and its history in in-memory PGlite (its default). The benchmark's own work on that
 *   thread is one watch on the Releases (a poll would cost a TLS handshake per request: client-node opens a
 *   new connection for every request).
 * - N script Targets (host-001…), each with its own `script.workDir` under the scratch directory, spread
 *   round-robin over M agents (10 each at the defaults); M real `bin/shipway-agent.js` child processes
 *   started from the credential Secrets the operator issued, as a host's operator would.
 * - One ReleaseApp (`fanout`, install and update = SCRIPT) and one Release whose only environment selects
 *   every Target, `promotion: auto`, strategy rolling with batchSize N (every target in one batch: the
 *   widest fan-out the API allows). The first Release installs (timed, its own row); the second is the
 *   update the issue asks about: wall time from creating the ReleaseApp and Release until the Release is
 *   Succeeded (the watch event that says so).
 * - "hub dispatch only": the operator's own AgentHub (the one the engine uses) sends N update tasks, with
 *   the config the engine would send, to the same connected agents, all in flight at once, and waits for
 *   every result. The floor under the engine's number: QUIC, the agents and the scripts, no release machinery.
 * - Before the first Release the operator is measured idle for BENCH_FANOUT_IDLE_S with every Target Online.
 * Ansible: the Debian `ansible` package (scripts/install-ansible.sh installs it when ansible-playbook is
 * missing), an inventory of N hosts (host-001…) with `ansible_connection=local` and a `work_dir` each, a
 * playbook with `gather_facts: false` and one `ansible.builtin.script` task running the same SCRIPT with
 * /bin/bash, forks = M, the ansible.posix.json stdout callback (quiet, and parsed to check every host), and
 * ansible.cfg, ANSIBLE_HOME and the temp dirs in the scratch directory. A first run installs (timed, its own
 * row), the second is the update; timed from spawning ansible-playbook to its exit. Shipway's processes are
 * stopped before Ansible runs.
 *
 * Both sides run the same script with the same variables — WORK_DIR (the host's own dir: on Shipway the
 * Target's script.workDir, which the engine passes as WORK_DIR), APP_VERSION, TARGET_NAME: it reads the
 * version there, writes the new one to VERSION and appends "<old> -> <new> on <host>" to ops.log. After every
 * run each work dir is checked: VERSION holds the new version and ops.log exactly one line per run so far,
 * in order (every script ran exactly once). Shipway's Release must list every target Succeeded, and the
 * agents' logs must show, per target, exactly one task started with the expected operation (install, then
 * update) and version, and succeeded. Ansible's JSON must show every host ok, none failed or unreachable.
 *
 * The detail column: "scripts ran" is the spread of the VERSION files' mtimes from the start of the run;
 * machine CPU is /proc/stat over the run (100% = both cores busy, whoever used them); for Shipway the
 * operator process's CPU, its event-loop delay, its API requests by kind, the status reports it stored,
 * and UDP datagrams the kernel dropped for a full receive buffer (machine-wide RcvbufErrors, and per socket
 * from /proc/net/udp: the operator's agent port, the agents' sockets).
 *
 * Options: BENCH_FANOUT_TARGETS, BENCH_FANOUT_AGENTS, BENCH_FANOUT_FORKS (default = agents),
 * BENCH_FANOUT_ROUNDS (update runs of each kind, default 1; the table shows the median),
 * BENCH_FANOUT_TIMEOUT_S (per wait, default 600), BENCH_FANOUT_TOTAL_S (the whole run, default 3600),
 * BENCH_FANOUT_IDLE_S (default 20), BENCH_FANOUT_CPU_PROF=<dir> (a CPU profile of this process, the
 * operator's, for each Shipway run), BENCH_FANOUT_KEEP=1 (keep the scratch directory: logs of the operator,
 * the emulator and every agent). Smoke run:
 * `BENCH_FANOUT_TARGETS=10 BENCH_FANOUT_AGENTS=2 BENCH_FANOUT_IDLE_S=1 npx tsx bench/agent-fanout.ts`.
 * Every child process (emulator, agents, ansible-playbook and its forks) is stopped and the scratch directory
 * removed on every way out: success, failure, either timeout, Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { subscribe } from 'node:diagnostics_channel';
import { setMaxListeners } from 'node:events';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { CoreV1Api, CustomObjectsApi, KubeConfig, Watch } from '@kubernetes/client-node';
import Table from 'cli-table3';
import { execa } from 'execa';
import { API_GROUP, API_VERSION } from '../operator/src/api/common.ts';
import type { TaskSpec } from '../operator/src/agents/agent-hub.ts';
import { startOperator, type RunningOperator } from '../operator/src/operator.ts';
import { openDatabase, type OpenedDatabase } from '../operator/src/storage/index.ts';

// ------------------------------------------------------------------------------------------- settings

function count(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, not "${raw}"`);
  return value;
}

const TARGETS = count('BENCH_FANOUT_TARGETS', 200);
const AGENTS = count('BENCH_FANOUT_AGENTS', 20);
const FORKS = count('BENCH_FANOUT_FORKS', AGENTS);
const ROUNDS = count('BENCH_FANOUT_ROUNDS', 1);
const TIMEOUT_MS = count('BENCH_FANOUT_TIMEOUT_S', 600) * 1000;
const TOTAL_MS = count('BENCH_FANOUT_TOTAL_S', 3600) * 1000;
const KEEP = process.env.BENCH_FANOUT_KEEP === '1';
const IDLE_MS = count('BENCH_FANOUT_IDLE_S', 20) * 1000;
/** A directory: CPU profiles of this process (the operator's) during each Shipway run are written there. */
const CPU_PROF = process.env.BENCH_FANOUT_CPU_PROF;
if (AGENTS > TARGETS) throw new Error(`BENCH_FANOUT_AGENTS (${AGENTS}) must not exceed BENCH_FANOUT_TARGETS (${TARGETS})`);
if (TARGETS > 999) throw new Error('BENCH_FANOUT_TARGETS above 999 is not supported (host names have three digits; batchSize stops at 1000)');

const ROOT = resolve(import.meta.dirname, '..');
const NAMESPACE = 'fanout';
const APP = 'fanout';
const PACKAGE_URL = 'file:///srv/fanout-${APP_VERSION}.tgz';
const TERMINAL = new Set(['Succeeded', 'Failed', 'Cancelled', 'RolledBack']);
const POLL_MS = 100;

/** The one script both sides run, with WORK_DIR, APP_VERSION and TARGET_NAME in its environment. */
const SCRIPT = `set -eu
mkdir -p "$WORK_DIR"
current="$(cat "$WORK_DIR/VERSION" 2>/dev/null || echo none)"
echo "$APP_VERSION" > "$WORK_DIR/VERSION"
echo "$current -> $APP_VERSION on $TARGET_NAME" >> "$WORK_DIR/ops.log"
`;

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const hostName = (i: number) => `host-${pad(i + 1, 3)}`;
const agentOf = (i: number) => `fanout-agent-${pad((i % AGENTS) + 1, 2)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
const startedAt = Date.now();
const say = (line: string) => process.stderr.write(`[agent-fanout +${((Date.now() - startedAt) / 1000).toFixed(0)}s] ${line}\n`);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;

// ------------------------------------------------------------------------------------------- what else happened

/** Busy and total jiffies of the whole machine (/proc/stat), to show how much else competed for the CPUs. */
function machineJiffies(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - fields[3]! - fields[4]!, total };
}

/** UDP datagrams the kernel dropped because a socket's receive buffer was full (machine-wide, /proc/net/snmp). */
function udpReceiveBufferErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const [head, values] = lines.map((l) => l.split(/\s+/));
  return Number(values?.[head?.indexOf('RcvbufErrors') ?? -1] ?? NaN);
}

/** Datagrams dropped so far by each local UDP port on 127.0.0.1 (the `drops` column of /proc/net/udp). */
function udpDropsByPort(): Map<number, number> {
  const drops = new Map<number, number>();
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 13) continue;
    const port = parseInt(fields[1]!.split(':')[1]!, 16);
    drops.set(port, (drops.get(port) ?? 0) + Number(fields[12]));
  }
  return drops;
}

/** Drops since `before` on the operator's agent port and on the agents' sockets (the ports they connect from now). */
function socketDrops(before: Map<number, number>): string {
  const endpoint = operator?.agents();
  if (!endpoint) return '';
  const now = udpDropsByPort();
  const delta = (port: number) => (now.get(port) ?? 0) - (before.get(port) ?? 0);
  const agentPorts = endpoint.hub.connectedAgents().map((id) => Number(endpoint.hub.connectedAgent(id)?.remote.split(':').at(-1)));
  return `; UDP drops: operator socket ${delta(endpoint.hub.port)}, agents' sockets ${agentPorts.reduce((sum, port) => sum + delta(port), 0)}`;
}

/** HTTP requests made by this process (the operator's requests to the API server, and the benchmark's few). */
let httpRequests = 0;
const requestKinds = new Map<string, number>();
subscribe('http.client.request.start', (message) => {
  httpRequests++;
  const { request } = message as { request: { method?: string; path?: string } };
  // `GET secrets`, `PATCH targets/status`, ...: the resource and subresource, without namespace and name.
  const parts = (request.path ?? '').split('?')[0]!.split('/').filter(Boolean);
  const rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  const resource = rest[0] === 'namespaces' && rest.length >= 3 ? rest.slice(2) : rest;
  const kind = `${request.method ?? 'GET'} ${resource[0] ?? '?'}${resource[2] ? `/${resource[2]}` : ''}`;
  requestKinds.set(kind, (requestKinds.get(kind) ?? 0) + 1);
});

/** With BENCH_FANOUT_CPU_PROF, profiles this process (the operator) until the returned function is called. */
async function profile(name: string): Promise<() => Promise<void>> {
  if (!CPU_PROF) return async () => undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile: result } = await session.post('Profiler.stop');
    mkdirSync(CPU_PROF, { recursive: true });
    await writeFile(join(CPU_PROF, `${name}.cpuprofile`), JSON.stringify(result));
    session.disconnect();
    say(`CPU profile of the operator process written to ${join(CPU_PROF, `${name}.cpuprofile`)}`);
  };
}

/** Starts measuring; the returned function says what the run cost, for the table's detail column. */
function probe(operatorInProcess: boolean): () => string {
  const machine0 = machineJiffies();
  const cpu0 = process.cpuUsage();
  const udp0 = udpReceiveBufferErrors();
  const drops0 = udpDropsByPort();
  const requests0 = httpRequests;
  const kinds0 = new Map(requestKinds);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  return () => {
    loop.disable();
    const machine = machineJiffies();
    const busy = (100 * (machine.busy - machine0.busy)) / Math.max(1, machine.total - machine0.total);
    const parts = [`machine CPU ${busy.toFixed(0)}% busy`];
    if (operatorInProcess) {
      const cpu = process.cpuUsage(cpu0);
      parts.push(
        `operator process CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`,
        `its event loop delay p99 ${(loop.percentile(99) / 1e6).toFixed(0)} ms, max ${(loop.max / 1e6).toFixed(0)} ms`,
        `${httpRequests - requests0} API requests (${[...requestKinds].map(([k, v]) => [k, v - (kinds0.get(k) ?? 0)] as const).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, v]) => `${k} ${v}`).join(', ')})`,
        `UDP receive-buffer drops (machine) ${udpReceiveBufferErrors() - udp0}${socketDrops(drops0)}`,
      );
    }
    return parts.join('; ');
  };
}

// ------------------------------------------------------------------------------------------- cleanup

const scratch = mkdtempSync(join(tmpdir(), 'shipway-fanout-'));
const children = new Map<ChildProcess, string>();
let emulatorProcess: ChildProcess | undefined;
let ansibleGroup: number | undefined;
let operator: RunningOperator | undefined;
let database: OpenedDatabase | undefined;
let operatorLog: WriteStream | undefined;
const operatorTail: string[] = [];
/** What the benchmark is doing, for the message when it fails or times out. */
let step = 'starting';

async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;
const exited = (child: ChildProcess) => (alive(child) ? new Promise<void>((r) => child.once('exit', () => r())) : Promise.resolve());

function killAnsible(): void {
  if (ansibleGroup === undefined) return;
  try {
    process.kill(-ansibleGroup, 'SIGKILL');
  } catch {
    // the group is gone
  }
  ansibleGroup = undefined;
}

/** SIGTERM, then SIGKILL after `graceMs`. */
async function stopChildren(list: ChildProcess[], graceMs: number): Promise<void> {
  for (const child of list) if (alive(child)) child.kill('SIGTERM');
  await within(Promise.all(list.map(exited)), graceMs);
  for (const child of list) if (alive(child)) child.kill('SIGKILL');
  await within(Promise.all(list.map(exited)), 2_000);
  for (const child of list) children.delete(child);
}

let shipwayStopped: Promise<void> | undefined;
/** Stops Shipway's side once: the agents, then the operator and its database, then the emulator. */
function stopShipway(): Promise<void> {
  return (shipwayStopped ??= (async () => {
    await stopChildren([...children.keys()].filter((c) => c !== emulatorProcess), 10_000);
    // The operator before the emulator: its watches would log errors on the way down.
    await within(operator?.stop() ?? Promise.resolve(), 20_000).catch((e: unknown) => say(`stopping the operator: ${(e as Error).message}`));
    operator = undefined;
    await within(database?.close() ?? Promise.resolve(), 5_000).catch((e: unknown) => say(`closing the database: ${(e as Error).message}`));
    database = undefined;
    if (emulatorProcess) await stopChildren([emulatorProcess], 5_000);
    const log = operatorLog;
    operatorLog = undefined;
    await new Promise<void>((r) => (log ? log.end(() => r()) : r()));
  })());
}

let stopping: Promise<void> | undefined;
/** Stops everything this benchmark started, once (Ansible's process group, Shipway), and removes the scratch dir. */
function shutdown(): Promise<void> {
  return (stopping ??= (async () => {
    killAnsible();
    await stopShipway();
    if (KEEP) say(`scratch directory kept: ${scratch}`);
    else rmSync(scratch, { recursive: true, force: true });
  })());
}

// Last resort when the process exits some other way: no child outlives it, no scratch dir is left.
process.on('exit', () => {
  killAnsible();
  for (const child of children.keys()) if (alive(child)) child.kill('SIGKILL');
  if (!KEEP) rmSync(scratch, { recursive: true, force: true });
});
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => {
    say(`${signal} during "${step}": stopping everything`);
    void within(shutdown(), 40_000).finally(() => process.exit(code));
  });
}

/** Polls `check` until it holds; throws with `what` and `progress()` when `timeoutMs` passes first. */
async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = TIMEOUT_MS, progress?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastReport = Date.now();
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${Math.round(timeoutMs / 1000)} s${progress ? ` (${progress()})` : ''}`);
    if (progress && Date.now() - lastReport > 15_000) {
      say(`waiting: ${what} (${progress()})`);
      lastReport = Date.now();
    }
    await sleep(POLL_MS);
  }
}

// ------------------------------------------------------------------------------------------- checks

interface FileCheck {
  /** Milliseconds from the start of the run to the first and to the last VERSION write. */
  firstWriteMs: number;
  lastWriteMs: number;
}

/** Every host's work dir holds `version` and exactly the expected ops.log lines; returns when the scripts ran. */
async function checkWorkDirs(workDirOf: (i: number) => string, expected: string[][], version: string, startedEpochMs: number, who: string): Promise<FileCheck> {
  const mtimes: number[] = [];
  const problems: string[] = [];
  for (let i = 0; i < TARGETS; i++) {
    const dir = workDirOf(i);
    const have = await readFile(join(dir, 'VERSION'), 'utf8').then((t) => t.trim(), () => '(missing)');
    const log = await readFile(join(dir, 'ops.log'), 'utf8').then((t) => t.trimEnd().split('\n'), () => ['(missing)']);
    if (have !== version) problems.push(`${hostName(i)}: VERSION is ${have}, not ${version}`);
    else if (log.join('\n') !== expected[i]!.join('\n')) problems.push(`${hostName(i)}: ops.log is ${JSON.stringify(log)}, not ${JSON.stringify(expected[i])}`);
    else mtimes.push((await stat(join(dir, 'VERSION'))).mtimeMs - startedEpochMs);
  }
  if (problems.length > 0) throw new Error(`${who}: ${problems.length} of ${TARGETS} work dirs are wrong, e.g.\n  ${problems.slice(0, 5).join('\n  ')}`);
  return { firstWriteMs: Math.min(...mtimes), lastWriteMs: Math.max(...mtimes) };
}

const spread = (c: FileCheck) => `scripts ran +${seconds(c.firstWriteMs)} … +${seconds(c.lastWriteMs)}`;

// ------------------------------------------------------------------------------------------- Shipway

interface Measured {
  ms: number;
  files: FileCheck;
  detail?: string;
}

interface ReleaseObject {
  metadata: { uid: string };
  status?: { phase?: string; message?: string; environments?: { targets?: { name: string; phase: string; error?: string }[] }[] };
}

class Shipway {
  private kubeConfig = new KubeConfig();
  private custom!: CustomObjectsApi;
  private core!: CoreV1Api;
  /** What each target's ops.log must hold, in order. */
  readonly expected: string[][] = Array.from({ length: TARGETS }, () => []);
  private version = 'none';
  /** The Target's `script.workDir`; the engine passes it to the scripts as WORK_DIR. */
  readonly workDir = (i: number) => join(scratch, 'shipway-hosts', hostName(i));

  async start(): Promise<void> {
    step = 'starting the Kubernetes API emulator';
    const kubeconfigPath = join(scratch, 'kubeconfig');
    await this.startEmulator(kubeconfigPath);
    this.kubeConfig.loadFromFile(kubeconfigPath);
    this.custom = this.kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = this.kubeConfig.makeApiClient(CoreV1Api);

    step = 'starting the operator';
    operatorLog = createWriteStream(join(scratch, 'operator.log'));
    database = await openDatabase({ driver: 'pglite' });
    operator = await startOperator({
      kubeConfig: this.kubeConfig,
      database,
      installCrds: true,
      leaseNamespace: 'default',
      agentPort: 0,
      agentHost: '127.0.0.1',
      agentHostnames: ['localhost', '127.0.0.1'],
      pollIntervalMs: 200,
      log: (line) => {
        operatorLog?.write(`${new Date().toISOString()} ${line}\n`);
        operatorTail.push(line);
        if (operatorTail.length > 40) operatorTail.shift();
      },
    });
    await waitUntil(() => operator?.agents() !== undefined, 'the operator leads and serves agents', 60_000);
    const port = operator.agents()!.hub.port;

    step = `creating ${TARGETS} script Targets`;
    await this.core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    await inParallel(TARGETS, 8, (i) =>
      this.custom.createNamespacedCustomObject({
        group: API_GROUP, version: API_VERSION, namespace: NAMESPACE, plural: 'targets',
        body: {
          apiVersion: `${API_GROUP}/${API_VERSION}`, kind: 'Target',
          metadata: { name: hostName(i), namespace: NAMESPACE, labels: { bench: 'fanout' } },
          spec: { type: 'script', environment: 'prod', host: '127.0.0.1', agent: agentOf(i), script: { workDir: this.workDir(i) } },
        },
      }),
    );

    step = `starting ${AGENTS} agents from their credential Secrets`;
    type Secret = { metadata?: { labels?: Record<string, string> }; data?: Record<string, string> };
    let secrets: Secret[] = [];
    await waitUntil(async () => {
      secrets = ((await this.core.listNamespacedSecret({ namespace: 'default', labelSelector: 'shipway.dev/agent' })).items as Secret[]).filter((s) => s.data?.token);
      return secrets.length >= AGENTS;
    }, `the operator issues ${AGENTS} agent credentials`, 120_000, () => `${secrets.length} issued`);
    for (const secret of secrets) {
      const agentId = secret.metadata!.labels!['shipway.dev/agent']!;
      const dir = join(scratch, 'agents', agentId);
      mkdirSync(join(dir, 'credential'), { recursive: true });
      for (const [key, value] of Object.entries(secret.data!)) writeFileSync(join(dir, 'credential', key), Buffer.from(value, 'base64'));
      const log = openSync(join(dir, 'agent.log'), 'a');
      const child = spawn(
        process.execPath,
        [join(ROOT, 'bin', 'shipway-agent.js'), '--server', `127.0.0.1:${port}`, '--server-name', 'localhost', '--credential-file', join(dir, 'credential'), '--state-dir', join(dir, 'state')],
        { cwd: ROOT, stdio: ['ignore', log, log] },
      );
      closeSync(log);
      children.set(child, `agent ${agentId}`);
    }
    const hub = operator.agents()!.hub;
    await waitUntil(() => hub.connectedAgents().length >= AGENTS, `${AGENTS} agents connect`, 180_000, () => `${hub.connectedAgents().length} connected; ${this.deadChildren()}`);
    let online = 0;
    await waitUntil(async () => {
      const list = (await this.custom.listNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace: NAMESPACE, plural: 'targets' })) as { items: { status?: { phase?: string } }[] };
      online = list.items.filter((t) => t.status?.phase === 'Online').length;
      return online >= TARGETS;
    }, `${TARGETS} Targets Online`, 120_000, () => `${online} Online`);
  }

  private deadChildren(): string {
    const dead = [...children].filter(([c]) => !alive(c)).map(([c, name]) => `${name} exited ${c.exitCode ?? c.signalCode}`);
    return dead.length ? dead.join(', ') : 'every agent process runs';
  }

  private async startEmulator(kubeconfigPath: string): Promise<void> {
    const log = createWriteStream(join(scratch, 'emulator.log'));
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/kube-api/main.ts'), '--port', '0', '--kubeconfig', kubeconfigPath], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    emulatorProcess = child;
    children.set(child, 'the API emulator');
    child.stderr!.pipe(log);
    let output = '';
    const ready = new Promise<void>((resolvePromise, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        log.write(chunk);
        output += chunk.toString('utf8');
        if (/^ready /m.test(output)) resolvePromise();
      });
      child.once('exit', (code, signal) => reject(new Error(`the API emulator exited (${code ?? signal}) before it was ready:\n${output}${existsSync(join(scratch, 'emulator.log')) ? readFileSync(join(scratch, 'emulator.log'), 'utf8').slice(-2000) : ''}`)));
    });
    const ok = await within(ready.then(() => true), 60_000);
    if (!ok) throw new Error('the API emulator did not say ready within 60 s');
  }

  /** Creates the ReleaseApp and the Release, waits for Succeeded; checks the work dirs and the agents' reports. */
  async release(version: string, operation: 'install' | 'update'): Promise<Measured> {
    const name = `fanout-${version.replaceAll('.', '-')}`;
    const previous = this.version;
    step = `Shipway: Release ${name} (${operation} of ${version} on ${TARGETS} targets)`;
    say(`${step}; load average ${load()}`);
    // One watch connection instead of polling: client-node opens a new TLS connection per request, and this
    // process is the operator's.
    const watching = await this.watchRelease(name);
    const profiled = await profile(name);
    const measure = probe(true);
    const epoch = Date.now();
    const start = performance.now();
    await this.custom.createNamespacedCustomObject({
      group: API_GROUP, version: API_VERSION, namespace: NAMESPACE, plural: 'releaseapps',
      body: {
        apiVersion: `${API_GROUP}/${API_VERSION}`, kind: 'ReleaseApp',
        metadata: { name: `${name}-${APP}`, namespace: NAMESPACE },
        spec: { release: name, app: APP, version, artifact: { package: { url: PACKAGE_URL } }, script: { install: SCRIPT, update: SCRIPT } },
      },
    });
    await this.custom.createNamespacedCustomObject({
      group: API_GROUP, version: API_VERSION, namespace: NAMESPACE, plural: 'releases',
      body: {
        apiVersion: `${API_GROUP}/${API_VERSION}`, kind: 'Release',
        metadata: { name, namespace: NAMESPACE },
        spec: {
          project: 'fanout',
          version,
          environments: [{
            name: 'prod',
            promotion: 'auto',
            targets: { selector: { matchLabels: { bench: 'fanout' } } },
            strategy: { type: 'rolling', rolling: { batchSize: TARGETS, batchIntervalSeconds: 0 } },
          }],
        },
      },
    });
    let release: ReleaseObject | undefined;
    let ms: number | undefined;
    await waitUntil(async () => {
      // The watch says when; a GET every poll only if the watch ended early (it should not: its timeout is longer).
      if (watching.finishedAt === undefined && watching.ended) release = (await this.custom.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace: NAMESPACE, plural: 'releases', name })) as ReleaseObject;
      else release = watching.latest ?? release;
      if (watching.finishedAt !== undefined) ms = watching.finishedAt - start;
      else if (TERMINAL.has(release?.status?.phase ?? '')) ms = performance.now() - start;
      return ms !== undefined;
    }, `Release ${name} finishes`, TIMEOUT_MS, () => this.progress(release));
    watching.stop();
    const cost = measure();
    await profiled();
    const targets = release!.status?.environments?.[0]?.targets ?? [];
    const succeeded = targets.filter((t) => t.phase === 'Succeeded').length;
    if (ms === undefined || release!.status?.phase !== 'Succeeded' || succeeded !== TARGETS) {
      throw new Error(`Release ${name} ended ${release!.status?.phase} (${release!.status?.message ?? ''}): ${this.progress(release)}\noperator log tail:\n${operatorTail.slice(-20).join('\n')}`);
    }

    for (let i = 0; i < TARGETS; i++) this.expected[i]!.push(`${previous} -> ${version} on ${hostName(i)}`);
    this.version = version;
    const files = await checkWorkDirs(this.workDir, this.expected, version, epoch, `Shipway Release ${name}`);
    const reports = await this.checkAgentLogs(`${release!.metadata.uid}/`, operation, version, release!.metadata.uid, `Release ${name}`);
    return { ms, files, detail: `${spread(files)}; Succeeded +${seconds(ms)}${reports}; ${cost}` };
  }

  /**
   * From the agents' own logs: every target's task of this run started exactly once, with the expected
   * operation and version, and succeeded. Also counts the status reports the operator stored for the
   * release (best effort on the agent's side: a report sent while its session is replaced is lost).
   */
  private async checkAgentLogs(taskPrefix: string, operation: string, version: string, releaseUid: string | undefined, name: string): Promise<string> {
    const started = new Map<string, number>();
    const succeeded = new Map<string, number>();
    for (let a = 0; a < AGENTS; a++) {
      const log = await readFile(join(scratch, 'agents', agentOf(a), 'agent.log'), 'utf8');
      for (const line of log.split('\n')) {
        const m = / task (\S+): (deploy (\w+) of \S+ (\S+) \(script\) started|succeeded in )/.exec(line);
        if (!m || !m[1]!.startsWith(taskPrefix)) continue;
        const target = /(host-\d{3})/.exec(m[1]!)?.[1] ?? '?';
        if (m[3] !== undefined) {
          if (m[3] !== operation || m[4] !== version) throw new Error(`${name}: ${target} ran "${m[3]} ${m[4]}", not "${operation} ${version}"`);
          started.set(target, (started.get(target) ?? 0) + 1);
        } else {
          succeeded.set(target, (succeeded.get(target) ?? 0) + 1);
        }
      }
    }
    const wrong = Array.from({ length: TARGETS }, (_, i) => hostName(i)).filter((t) => started.get(t) !== 1 || succeeded.get(t) !== 1);
    if (wrong.length > 0) throw new Error(`${name}: per the agent logs, ${wrong.length} targets did not run exactly one ${operation} that succeeded, e.g. ${wrong.slice(0, 3).map((t) => `${t} started ${started.get(t) ?? 0}×, succeeded ${succeeded.get(t) ?? 0}×`).join('; ')}`);
    if (!releaseUid) return '';
    let reports = 0;
    for (let i = 0; i < TARGETS; i++) {
      reports += (await operator!.repo.listReportsOfTarget(hostName(i))).filter((r) => r.releaseId === releaseUid && r.status === 'success').length;
    }
    return `; status reports stored ${reports}/${TARGETS}`;
  }

  /** Follows the Releases of the namespace: `latest` is the newest state of `name`, `finishedAt` when it first read terminal. */
  private async watchRelease(name: string): Promise<{ latest: ReleaseObject | undefined; finishedAt: number | undefined; ended: boolean; stop(): void }> {
    const state = { latest: undefined as ReleaseObject | undefined, finishedAt: undefined as number | undefined, ended: false, stop: () => undefined as void };
    const controller = await new Watch(this.kubeConfig).watch(
      `/apis/${API_GROUP}/${API_VERSION}/namespaces/${NAMESPACE}/releases`,
      { timeoutSeconds: Math.ceil(TIMEOUT_MS / 1000) + 120 },
      (_type, object: ReleaseObject & { metadata: { name?: string } }) => {
        if (object.metadata?.name !== name) return;
        state.latest = object;
        if (state.finishedAt === undefined && TERMINAL.has(object.status?.phase ?? '')) state.finishedAt = performance.now();
      },
      () => (state.ended = true),
    );
    state.stop = () => {
      state.ended = true;
      controller.abort();
    };
    return state;
  }

  private progress(release: ReleaseObject | undefined): string {
    const targets = release?.status?.environments?.[0]?.targets ?? [];
    const phases = targets.reduce<Record<string, number>>((acc, t) => ((acc[t.phase] = (acc[t.phase] ?? 0) + 1), acc), {});
    const error = targets.find((t) => t.error)?.error;
    return `Release ${release?.status?.phase ?? '(no status yet)'}; targets ${JSON.stringify(phases)}${error ? `; e.g. ${error}` : ''}`;
  }

  /** The operator's AgentHub sends every target's update at once to the connected agents; no release machinery. */
  async hubDispatch(version: string): Promise<Measured> {
    const hub = operator!.agents()!.hub;
    const previous = this.version;
    const uid = randomUUID();
    step = `Shipway: hub dispatch of ${TARGETS} updates to ${version}`;
    say(`${step}; load average ${load()}`);
    const tasks = Array.from({ length: TARGETS }, (_, i): { agentId: string; task: TaskSpec } => ({
      agentId: agentOf(i),
      task: {
        taskId: `fanout-hub/${uid}/${hostName(i)}/${APP}`,
        kind: 'deploy',
        operation: 'update',
        targetType: 'script',
        app: APP,
        version,
        currentVersion: previous,
        // What agent-dispatch.ts sends for a script target: the ReleaseApp's script block, its package, the Target's host block.
        config: { settings: { interpreter: '/bin/bash', install: SCRIPT, update: SCRIPT }, package: { url: PACKAGE_URL }, host: { workDir: this.workDir(i) } },
        // The engine's built-in variables that matter here (it sends WORK_DIR = the Target's work dir).
        env: { APP_NAME: APP, APP_VERSION: version, CURRENT_VERSION: previous, WORK_DIR: this.workDir(i), TARGET_NAME: hostName(i), TARGET_HOST: '127.0.0.1' },
        timeoutSeconds: 300,
        releaseRef: { namespace: NAMESPACE, name: `hub-${version.replaceAll('.', '-')}`, uid },
        environment: 'prod',
        target: hostName(i),
      },
    }));
    const signal = AbortSignal.timeout(TIMEOUT_MS);
    setMaxListeners(TARGETS * 4, signal);
    const profiled = await profile(`hub-${version}`);
    const measure = probe(true);
    const epoch = Date.now();
    const start = performance.now();
    let done = 0;
    const latencies = await Promise.all(
      tasks.map(async ({ agentId, task }) => {
        const result = await hub.dispatch(agentId, task, {}, signal).catch((error: unknown) => {
          throw new Error(`hub dispatch to ${agentId} for ${task.target}: ${(error as Error).message} (${done}/${TARGETS} done)`);
        });
        if (result.status !== 'succeeded') throw new Error(`hub dispatch to ${agentId} for ${task.target}: ${result.status}: ${result.error ?? ''}`);
        done++;
        return performance.now() - start;
      }),
    );
    const ms = performance.now() - start;
    const cost = measure();
    await profiled();
    for (let i = 0; i < TARGETS; i++) this.expected[i]!.push(`${previous} -> ${version} on ${hostName(i)}`);
    this.version = version;
    const files = await checkWorkDirs(this.workDir, this.expected, version, epoch, `hub dispatch of ${version}`);
    await this.checkAgentLogs(`fanout-hub/${uid}/`, 'update', version, undefined, `hub dispatch of ${version}`);
    const mean = latencies.reduce((a, b) => a + b, 0) / latencies.length;
    return { ms, files, detail: `${spread(files)}; dispatch → result per task: mean ${seconds(mean)}, p50 ${seconds(percentile(latencies, 50))}, p99 ${seconds(percentile(latencies, 99))}; ${cost}` };
  }

  async stop(): Promise<void> {
    step = 'stopping Shipway';
    await stopShipway();
  }
}

async function inParallel(n: number, workers: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(workers, n) }, async () => {
    while (next < n) await work(next++);
  }));
}

// ------------------------------------------------------------------------------------------- Ansible

class Ansible {
  readonly dir = join(scratch, 'ansible');
  readonly expected: string[][] = Array.from({ length: TARGETS }, () => []);
  private version = 'none';
  readonly workDir = (i: number) => join(scratch, 'ansible-hosts', hostName(i));
  versionLine = '';

  constructor(private readonly playbookBinary: string) {}

  static async find(): Promise<Ansible> {
    step = 'installing Ansible (scripts/install-ansible.sh)';
    const installed = await execa(join(ROOT, 'scripts', 'install-ansible.sh'), { cwd: ROOT, stdin: 'ignore', stderr: 'inherit', reject: false, timeout: 600_000 });
    if (installed.exitCode !== 0) throw new Error(`scripts/install-ansible.sh failed (exit ${installed.exitCode ?? installed.signal}); see its message above`);
    const ansible = new Ansible(installed.stdout.trim().split('\n').at(-1)!);
    ansible.versionLine = (await execa(ansible.playbookBinary, ['--version'], { reject: false })).stdout.split('\n')[0] ?? '';
    return ansible;
  }

  prepare(): void {
    mkdirSync(join(this.dir, 'home'), { recursive: true });
    writeFileSync(join(this.dir, 'fanout.sh'), SCRIPT);
    writeFileSync(
      join(this.dir, 'ansible.cfg'),
      [
        '[defaults]',
        `forks = ${FORKS}`,
        'host_key_checking = False',
        'retry_files_enabled = False',
        'stdout_callback = ansible.posix.json',
        'interpreter_python = /usr/bin/python3',
        'deprecation_warnings = False',
        'nocows = 1',
        `local_tmp = ${join(this.dir, 'tmp-local')}`,
        `remote_tmp = ${join(this.dir, 'tmp-remote')}`,
        '',
      ].join('\n'),
    );
    const hosts = Array.from({ length: TARGETS }, (_, i) => `${hostName(i)} ansible_connection=local work_dir=${this.workDir(i)}`);
    writeFileSync(join(this.dir, 'inventory.ini'), `[fleet]\n${hosts.join('\n')}\n`);
    writeFileSync(
      join(this.dir, 'playbook.yml'),
      `- name: fan-out of one script
  hosts: fleet
  gather_facts: false
  tasks:
    - name: run the script
      ansible.builtin.script:
        cmd: ${join(this.dir, 'fanout.sh')}
        executable: /bin/bash
      environment:
        WORK_DIR: "{{ work_dir }}"
        APP_NAME: ${APP}
        APP_VERSION: "{{ app_version }}"
        TARGET_NAME: "{{ inventory_hostname }}"
`,
    );
  }

  async run(version: string, operation: 'install' | 'update'): Promise<Measured> {
    const previous = this.version;
    step = `Ansible: ${operation} of ${version} on ${TARGETS} hosts, forks=${FORKS}`;
    say(`${step}; load average ${load()}`);
    const measure = probe(false);
    const epoch = Date.now();
    const start = performance.now();
    const child = execa(this.playbookBinary, ['-i', join(this.dir, 'inventory.ini'), join(this.dir, 'playbook.yml'), '-e', `app_version=${version}`], {
      cwd: this.dir,
      env: { ANSIBLE_CONFIG: join(this.dir, 'ansible.cfg'), ANSIBLE_HOME: join(this.dir, 'home'), ANSIBLE_NOCOLOR: '1' },
      stdin: 'ignore',
      // Its own process group, so a timeout or Ctrl-C takes its forks along.
      detached: true,
      timeout: TIMEOUT_MS,
      killSignal: 'SIGKILL',
      reject: false,
      maxBuffer: 256 * 1024 * 1024,
    });
    ansibleGroup = child.pid;
    const result = await child;
    const ms = performance.now() - start;
    const cost = measure();
    killAnsible();
    if (result.timedOut) throw new Error(`ansible-playbook did not finish within ${TIMEOUT_MS / 1000} s`);
    type Stats = Record<string, { ok: number; failures: number; unreachable: number; skipped: number }>;
    let stats: Stats;
    try {
      stats = (JSON.parse(result.stdout) as { stats: Stats }).stats;
    } catch {
      throw new Error(`ansible-playbook exited ${result.exitCode ?? result.signal} without its JSON output:\n${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`);
    }
    const bad = Object.entries(stats).filter(([, s]) => s.ok < 1 || s.failures > 0 || s.unreachable > 0 || s.skipped > 0);
    if (result.exitCode !== 0 || Object.keys(stats).length !== TARGETS || bad.length > 0) {
      throw new Error(`ansible-playbook exited ${result.exitCode}: ${Object.keys(stats).length} hosts in its stats, ${bad.length} not ok, e.g. ${JSON.stringify(bad.slice(0, 3))}\n${result.stderr.slice(-2000)}`);
    }
    for (let i = 0; i < TARGETS; i++) this.expected[i]!.push(`${previous} -> ${version} on ${hostName(i)}`);
    this.version = version;
    const files = await checkWorkDirs(this.workDir, this.expected, version, epoch, `Ansible ${operation} of ${version}`);
    return { ms, files, detail: `${spread(files)}; exit +${seconds(ms)}; ${cost}` };
  }
}

// ------------------------------------------------------------------------------------------- main

interface Row {
  run: string;
  runs: Measured[];
}

function summary(row: Row): { ms: number; detail: string } {
  const ms = median(row.runs.map((r) => r.ms));
  const mid = row.runs.find((r) => r.ms === ms)!;
  const range = row.runs.length > 1 ? `median of ${row.runs.length} (${row.runs.map((r) => seconds(r.ms)).join(', ')}); ` : '';
  return { ms, detail: `${range}${mid.detail ?? ''}` };
}

async function main(): Promise<number> {
  const watchdog = setTimeout(() => {
    say(`the benchmark did not finish within ${TOTAL_MS / 1000} s (BENCH_FANOUT_TOTAL_S); it was at: ${step}`);
    void within(shutdown(), 40_000).finally(() => process.exit(1));
  }, TOTAL_MS);
  watchdog.unref();

  say(`${TARGETS} targets on ${AGENTS} agents vs Ansible with ${TARGETS} hosts and forks=${FORKS}; ${ROUNDS} update round(s) each; scratch ${scratch}`);
  let ansible: Ansible | undefined;
  let ansibleMissing: string | undefined;
  try {
    ansible = await Ansible.find();
  } catch (error) {
    ansibleMissing = (error as Error).message;
    say(`Ansible is not available: ${ansibleMissing}; measuring Shipway only`);
  }

  const rows: Row[] = [];
  const loads: string[] = [];
  const shipway = new Shipway();
  await shipway.start();
  say(`${AGENTS} agents connected, ${TARGETS} Targets Online; measuring the operator idle for ${IDLE_MS / 1000} s`);
  step = 'measuring the operator idle';
  const idle = probe(true);
  await sleep(IDLE_MS);
  const idleCost = idle();
  loads.push(`Shipway ${load()}`);
  const install = await shipway.release('1.0.0', 'install');
  rows.push({ run: `Shipway engine, first Release (install), apply → Succeeded`, runs: [install] });
  const engine: Row = { run: `Shipway engine, update Release, apply → Succeeded`, runs: [] };
  for (let r = 1; r <= ROUNDS; r++) engine.runs.push(await shipway.release(`1.${r}.0`, 'update'));
  rows.push(engine);
  const hub: Row = { run: `Shipway hub dispatch only (${TARGETS} updates in flight)`, runs: [] };
  for (let r = 1; r <= ROUNDS; r++) hub.runs.push(await shipway.hubDispatch(`2.${r}.0`));
  rows.push(hub);
  // Shipway's processes are stopped before Ansible runs, so they do not compete with it.
  await shipway.stop();

  let baseline: number | undefined;
  if (ansible) {
    ansible.prepare();
    loads.push(`Ansible ${load()}`);
    rows.push({ run: `Ansible, first run (install), forks=${FORKS}`, runs: [await ansible.run('1.0.0', 'install')] });
    const update: Row = { run: `Ansible, update run, forks=${FORKS}`, runs: [] };
    for (let r = 1; r <= ROUNDS; r++) update.runs.push(await ansible.run(`1.${r}.0`, 'update'));
    rows.push(update);
    baseline = summary(update).ms;
  }
  loads.push(`end ${load()}`);

  const table = new Table({ head: ['run', 'wall', `per target (wall ÷ ${TARGETS})`, 'vs Ansible update', 'detail'], style: { head: [], border: [] }, wordWrap: true, colWidths: [null, null, null, null, 70] });
  for (const row of rows) {
    const { ms, detail } = summary(row);
    const ratio = baseline === undefined ? 'n/a' : ms === baseline ? '1 (baseline)' : `${(ms / baseline).toFixed(3)}× (${ms < baseline ? `${(baseline / ms).toFixed(1)}× faster` : `${(ms / baseline).toFixed(1)}× slower`})`;
    table.push([row.run, seconds(ms), `${(ms / TARGETS).toFixed(1)} ms`, ratio, detail]);
  }
  if (ansibleMissing) table.push(['Ansible', 'not run', '', '', ansibleMissing]);
  console.log(`Fan-out of one script update: ${TARGETS} script targets on ${AGENTS} agents (Shipway) vs ${TARGETS} inventory hosts, forks=${FORKS}, local connection (Ansible)`);
  console.log(`${new Date().toISOString().slice(0, 10)}, ${cpus().length} CPUs, node ${process.version}${ansible ? `, ${ansible.versionLine}` : ''}; load average (1/5/15 min) at the start of each side: ${loads.join('; ')}`);
  console.log(table.toString());
  console.log(`Shipway idle for ${IDLE_MS / 1000} s with ${TARGETS} Targets Online, before the first Release: ${idleCost}.`);
  await shutdown();
  return ansibleMissing ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    say(`failed during "${step}": ${error instanceof Error ? error.message : String(error)}`);
    if (operatorTail.length) say(`operator log tail:\n${operatorTail.slice(-15).join('\n')}`);
    await within(shutdown(), 40_000);
    process.exit(1);
  },
);
