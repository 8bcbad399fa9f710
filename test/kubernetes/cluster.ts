/**
 * An emulated cluster with the workload controllers for the driver's tests, and the objects they start
 * from: a namespace per test, workloads of each kind, Targets pointing at them.
 */
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll } from 'vitest';
import type { TargetRef } from '../../operator/src/tasks/task-executor.ts';
import { createWorkloadDriver, type KubernetesWorkloadDriver } from '../../operator/src/kubernetes/workload-driver.ts';
import { workloadControllers } from '../kube-api/controllers/index.ts';
import { startEmulator, type RunningEmulator } from '../kube-api/emulator.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kubernetes JSON in assertions
export type Obj = Record<string, any>;

export interface TestCluster {
  emulator: RunningEmulator;
  kubeConfig: KubeConfig;
  apps: AppsV1Api;
  core: CoreV1Api;
  driver: KubernetesWorkloadDriver;
  /** A fresh namespace. */
  namespace(prefix: string): Promise<string>;
}

export async function startCluster(): Promise<TestCluster> {
  const emulator = await startEmulator({ port: 0, controllers: workloadControllers, podReadyDelayMs: 30 });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(emulator.kubeconfig);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  let counter = 0;
  return {
    emulator,
    kubeConfig,
    apps: kubeConfig.makeApiClient(AppsV1Api),
    core,
    driver: createWorkloadDriver({ kubeConfig, pollIntervalMs: 25 }),
    async namespace(prefix) {
      const name = `${prefix}-${++counter}`;
      await core.createNamespace({ body: { metadata: { name } } });
      return name;
    },
  };
}

/** One emulated cluster for the test file, stopped after it. */
export function useCluster(): () => TestCluster {
  let cluster: TestCluster | undefined;
  beforeAll(async () => {
    cluster = await startCluster();
  });
  afterAll(async () => cluster?.emulator.stop());
  return () => {
    if (!cluster) throw new Error('the cluster starts in beforeAll');
    return cluster;
  };
}

export interface WorkloadOptions {
  replicas?: number;
  image?: string;
  /** Extra containers after the first (`web`). */
  sidecars?: { name: string; image: string }[];
  progressDeadlineSeconds?: number;
}

const podTemplate = (name: string, o: WorkloadOptions) => ({
  metadata: { labels: { app: name } },
  spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'web', image: o.image ?? 'registry.local/shop/web:1.0.0' }, ...(o.sidecars ?? [])] },
});

export function deployment(name: string, o: WorkloadOptions = {}): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas: o.replicas ?? 2,
      ...(o.progressDeadlineSeconds !== undefined ? { progressDeadlineSeconds: o.progressDeadlineSeconds } : {}),
      selector: { matchLabels: { app: name } },
      template: podTemplate(name, o),
    },
  };
}

export function statefulSet(name: string, o: WorkloadOptions = {}): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, labels: { app: name } },
    spec: { replicas: o.replicas ?? 2, serviceName: name, podManagementPolicy: 'Parallel', selector: { matchLabels: { app: name } }, template: podTemplate(name, o) },
  };
}

export function daemonSet(name: string, o: WorkloadOptions = {}): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, labels: { app: name } },
    spec: { selector: { matchLabels: { app: name } }, template: podTemplate(name, o) },
  };
}

export function target(namespace: string, workload: string, kubernetes: Partial<NonNullable<TargetRef['spec']['kubernetes']>> = {}): TargetRef {
  return {
    namespace,
    name: `${workload}-target`,
    labels: {},
    spec: { type: 'kubernetes', environment: 'prod', priority: 0, kubernetes: { namespace, kind: 'Deployment', name: workload, ...kubernetes } },
  };
}

/** A signal that aborts after `ms`, so a test that goes wrong fails instead of hanging. */
export const within = (ms = 15_000): AbortSignal => AbortSignal.timeout(ms);
