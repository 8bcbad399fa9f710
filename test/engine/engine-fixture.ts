/**
 * One emulator with Shipway's CRDs and one operator (in-process, in-memory PGlite) shared by the release
 * scenarios of a test file; each scenario works in its own namespace. Everything goes through the real
 * clients: kubectl for what a user does, client-node inside the operator.
 */
import { randomBytes } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll } from 'vitest';
import { startOperator, type OperatorOptions, type RunningOperator } from '../../operator/src/operator.ts';
import { startCluster, type Cluster } from '../conformance/cluster.ts';
import { openScratchDatabase, postgresRequired, postgresUrl, type ScratchDatabase } from '../support/test-databases.ts';
import type { ReleaseHistory } from '../../operator/src/storage/index.ts';
import { eventually } from '../support/until.ts';

export interface Engine {
  cluster: Cluster;
  operator: RunningOperator;
  logs: string[];
  namespace(prefix: string): Promise<string>;
  apply(yaml: string): Promise<void>;
  json(args: string[]): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- kubectl -o json
  release(namespace: string, name: string): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Everything the operator recorded about a Release, from its database. */
  history(namespace: string, name: string): Promise<ReleaseHistory>;
  image(namespace: string, deployment: string): Promise<string>;
  annotate(namespace: string, name: string, annotations: Record<string, string>): Promise<void>;
  waitFor(namespace: string, name: string, check: (release: any) => boolean, what: string, timeoutMs?: number): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Stops the operator, runs `whileStopped`, and starts a new one on the same cluster and database (as after an upgrade). */
  restart(whileStopped?: () => Promise<void>): Promise<void>;
}

export async function startCrdCluster(podReadyDelayMs = 100): Promise<Cluster> {
  const cluster = await startCluster({ podReadyDelayMs });
  await cluster.kubectlOk(['apply', '-f', 'crds/']);
  await cluster.kubectlOk(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=30s']);
  return cluster;
}

export function useEngine(options: Partial<OperatorOptions> = {}): Engine {
  const engine = { logs: [] as string[] } as unknown as Engine;
  let database: ScratchDatabase | undefined;
  const start = () => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(engine.cluster.kubeconfigPath);
    return startOperator({ kubeConfig, database: database!, leaseNamespace: 'default', pollIntervalMs: 100, approvalPollIntervalMs: 100, log: (l) => engine.logs.push(l), ...options });
  };
  beforeAll(async () => {
    // Real PostgreSQL when the suite has one (CI always does), else PGlite from the migrated template.
    [engine.cluster, database] = await Promise.all([startCrdCluster(), openScratchDatabase(postgresUrl() || postgresRequired() ? 'pg' : 'pglite')]);
    engine.operator = await start();
  }, 90_000);
  afterAll(async () => {
    await engine.operator?.stop();
    await engine.cluster?.stop();
    await database?.dispose();
  });
  Object.assign(engine, {
    restart: async (whileStopped?: () => Promise<void>) => {
      await engine.operator.stop();
      await whileStopped?.();
      engine.operator = await start();
    },
    namespace: async (prefix: string) => {
      const ns = `${prefix}-${randomBytes(3).toString('hex')}`;
      await engine.cluster.kubectlOk(['create', 'namespace', ns]);
      return ns;
    },
    apply: async (yaml: string) => {
      await engine.cluster.kubectlOk(['apply', '-f', '-'], { input: yaml });
    },
    json: async (args: string[]) => JSON.parse(await engine.cluster.kubectlOk([...args, '-o', 'json'])),
    release: (namespace: string, name: string) => engine.json(['get', 'release', name, '-n', namespace]),
    history: async (namespace: string, name: string) => {
      const row = await engine.operator.repo.getReleaseByUid((await engine.release(namespace, name)).metadata.uid);
      return (await engine.operator.repo.getReleaseHistory(row!.id))!;
    },
    image: async (namespace: string, deployment: string) =>
      (await engine.json(['get', 'deployment', deployment, '-n', namespace])).spec.template.spec.containers[0].image,
    annotate: async (namespace: string, name: string, annotations: Record<string, string>) => {
      await engine.cluster.kubectlOk(['annotate', '--overwrite', 'release', name, '-n', namespace, ...Object.entries(annotations).map(([k, v]) => `${k}=${v}`)]);
    },
    waitFor: async (namespace: string, name: string, check: (release: any) => boolean, what: string, timeoutMs = 40_000) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      let last: any; // eslint-disable-line @typescript-eslint/no-explicit-any
      await eventually(async () => check((last = await engine.release(namespace, name))), {
        timeoutMs,
        message: () => `${what}; status: ${JSON.stringify(last?.status, null, 1)}\noperator log tail:\n${engine.logs.slice(-30).join('\n')}`,
      });
      return last;
    },
  });
  return engine;
}

/** Deployments `names` at `registry.local/<app>:<version>` with Targets of the environment. */
export function workloads(namespace: string, environment: string, names: string[], options: { app?: string; version?: string; replicas?: number; progressDeadlineSeconds?: number; labels?: Record<string, string> } = {}): string {
  const app = options.app ?? 'web';
  return names
    .map((name) => `
apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  replicas: ${options.replicas ?? 1}
  progressDeadlineSeconds: ${options.progressDeadlineSeconds ?? 600}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers:
        - name: ${app}
          image: registry.local/${app}:${options.version ?? '1.0.0'}
---
apiVersion: shipway.dev/v1alpha1
kind: Target
metadata: { name: ${name}, namespace: ${namespace}, labels: ${JSON.stringify(options.labels ?? {})} }
spec:
  type: kubernetes
  environment: ${environment}
  kubernetes: { namespace: ${namespace}, name: ${name}, container: ${app} }
`)
    .join('---\n');
}

/**
 * Pipeline `slow`: one pre_release task waiting 600 s, so a Release using it stays Deploying at step
 * `hold/hold` for as long as a test needs (to act on a running release).
 */
export function holdingPipeline(namespace: string): string {
  return `
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: { name: slow, namespace: ${namespace} }
spec:
  stages:
    - { name: hold, phase: pre_release, tasks: [{ id: hold, type: wait, wait: { durationSeconds: 600 } }] }
`;
}
