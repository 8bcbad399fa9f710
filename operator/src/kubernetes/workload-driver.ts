/**
 * The Kubernetes workload driver: the engine's `WorkloadDriver` for Deployments, StatefulSets and
 * DaemonSets in the operator's cluster or a remote one, plus the in-workload canary and blue-green steps the
 * strategies need. Each call resolves the Target afresh (its cluster, and for blue-green Targets the live
 * colour), so a restarted operator or a rotated kubeconfig Secret needs no special handling.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { canaryName } from '../planning/canary-workload.ts';
import type { RolloutState } from '../planning/workload-rollout.ts';
import type { ImageChange, TargetRef, WorkloadDriver } from '../tasks/task-executor.ts';
import { abortBlueGreen, deployGreen, finishBlueGreen, switchService, type BlueGreenStep, type GreenDeployment } from './blue-green.ts';
import { ClusterClients, TargetConfigError } from './cluster-clients.ts';
import { canaryState, ensureCanary, promoteCanary, removeCanary, type CanaryResult } from './in-workload-canary.ts';
import * as operations from './rollout-operations.ts';
import { DEFAULT_POLL_INTERVAL_MS } from './rollout-wait.ts';
import { TargetWorkloads } from './target-workload.ts';

export interface WaitOptions {
  /** Defaults to one that never aborts. */
  signal?: AbortSignal;
  timeoutMs?: number;
  onProgress?: (message: string) => void;
}

export interface KubernetesWorkloadDriver extends WorkloadDriver {
  readonly clusters: ClusterClients;

  /** Creates or updates `<name>-canary` with `images` and ceil(`percent` % of the main replicas), at least 1. Deployments only. */
  ensureCanary(target: TargetRef, images: readonly ImageChange[], percent: number): Promise<CanaryResult>;
  /** The canary's rollout state; an error when there is no canary. */
  canaryState(target: TargetRef): Promise<RolloutState>;
  /** `waitForRollout` for the canary: resolves `done` or `failed`, rejects only when aborted. */
  waitForCanary(target: TargetRef, options: { signal: AbortSignal; timeoutMs?: number; onProgress?: (message: string) => void }): Promise<RolloutState>;
  /** Sets `images` on the main workload, follows its rollout, and removes the canary once it is done. */
  promoteCanary(target: TargetRef, images: readonly ImageChange[], cause: string, options?: WaitOptions): Promise<RolloutState>;
  /** Deletes the canary; `deleted` is false when there was none. */
  removeCanary(target: TargetRef): Promise<{ deleted: boolean }>;

  /** Deploys the new version as the idle colour at full replicas (pinning the Service to the live colour first if needed). */
  deployGreen(target: TargetRef, images: readonly ImageChange[], options?: WaitOptions): Promise<GreenDeployment>;
  /** Moves the Service selector to the prepared colour; it must be rolled out. */
  switchService(target: TargetRef): Promise<BlueGreenStep>;
  /** Scales the old colour to 0 (`keepOldVersion`) or deletes it (the Target's own workload is only scaled to 0). */
  finishBlueGreen(target: TargetRef, keepOldVersion: boolean): Promise<BlueGreenStep>;
  /** Routes back to the old colour and retires the prepared one. */
  abortBlueGreen(target: TargetRef): Promise<BlueGreenStep>;
}

export interface WorkloadDriverOptions {
  /** The operator's own cluster: targets without `kubeconfigSecretRef`, and where those Secrets are read. */
  kubeConfig: KubeConfig;
  /** How often a rollout wait reads the workload (default 500 ms). */
  pollIntervalMs?: number;
}

const neverAborts = () => new AbortController().signal;

/**
 * A wait resolves with `failed` for everything but an abort (the WorkloadDriver contract): a Target whose
 * cluster or workload cannot be resolved is a rollout that failed, with the reason named.
 */
async function settled(signal: AbortSignal, wait: () => Promise<RolloutState>): Promise<RolloutState> {
  try {
    return await wait();
  } catch (error) {
    signal.throwIfAborted();
    const reason = error instanceof TargetConfigError ? error.reason : error instanceof Error ? error.name : 'Error';
    return { state: 'failed', reason, message: error instanceof Error ? error.message : String(error) };
  }
}

export function createWorkloadDriver(options: WorkloadDriverOptions): KubernetesWorkloadDriver {
  const clusters = new ClusterClients(options.kubeConfig);
  const workloads = new TargetWorkloads(clusters);
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const follow = (o: WaitOptions) => ({ ...o, signal: o.signal ?? neverAborts(), pollIntervalMs });

  return {
    clusters,
    kubeConfigFor: (target) => clusters.kubeConfigFor(target),
    observe: async (target) => operations.observe(await workloads.live(target)),
    setImages: async (target, images, cause) => operations.setImages(await workloads.live(target), images, cause),
    waitForRollout: (target, o) => settled(o.signal, async () => operations.waitForRollout(await workloads.live(target), follow(o))),
    rollback: async (target, o) => operations.rollback(await workloads.live(target), o),
    cleanup: async (target, keepVersions) => operations.cleanup(await workloads.live(target), keepVersions),

    ensureCanary: async (target, images, percent) => ensureCanary(await workloads.live(target), images, percent),
    canaryState: async (target) => canaryState(await workloads.live(target)),
    waitForCanary: (target, o) =>
      settled(o.signal, async () => {
        const w = await workloads.live(target);
        return operations.waitForRollout({ ...w, kind: 'Deployment', name: canaryName(w.name) }, follow(o));
      }),
    promoteCanary: async (target, images, cause, o = {}) => promoteCanary(await workloads.live(target), images, cause, follow(o)),
    removeCanary: async (target) => removeCanary(await workloads.live(target)),

    deployGreen: async (target, images, o = {}) => deployGreen(await workloads.own(target), images, follow(o)),
    switchService: async (target) => switchService(await workloads.own(target)),
    finishBlueGreen: async (target, keepOldVersion) => finishBlueGreen(await workloads.own(target), keepOldVersion),
    abortBlueGreen: async (target) => abortBlueGreen(await workloads.own(target)),
  };
}
