/**
 * The contract between the release engine and what it runs per target: pipeline task executors (a registry
 * keyed by task type) and the Kubernetes workload driver they use. The engine owns ordering, retries,
 * timeouts, history rows and resumption; an executor runs one attempt of one task and reports the outcome.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Notifications } from '../api/notifications.ts';
import type { ReleaseAppSpec } from '../api/release-app.ts';
import type { Task, TaskType } from '../api/pipeline.ts';
import type { TargetSpec } from '../api/target.ts';
import type { RolloutState } from '../planning/workload-rollout.ts';

/** A Target as the engine saw it (defaulted spec). */
export interface TargetRef {
  namespace: string;
  name: string;
  labels: Readonly<Record<string, string>>;
  spec: TargetSpec;
}

/** One container image the release sets: the container (undefined = the target's `container`, else the first). */
export interface ImageChange {
  container?: string;
  image: string;
}

export interface WorkloadObservation {
  kind: string;
  generation: number;
  /** Images per container name. */
  images: Record<string, string>;
  /** The image tag of the target's container (its `container`, else the first). */
  version?: string;
  replicas: number;
  rollout: RolloutState;
  /** `deployment.kubernetes.io/revision` (Deployments), or the controller revision number. */
  revision?: number;
}

/** Drives one Target's workload, in the operator's cluster or the remote one of `kubeconfigSecretRef`. */
export interface WorkloadDriver {
  observe(target: TargetRef): Promise<WorkloadObservation>;
  /** Idempotent: containers already at the image are left alone and `changed` is false. */
  setImages(target: TargetRef, images: readonly ImageChange[], cause: string): Promise<{ changed: boolean; previous: Record<string, string> }>;
  /** Resolves with `done` or `failed` (ProgressDeadlineExceeded, timeout); rejects only when aborted. */
  waitForRollout(target: TargetRef, options: { signal: AbortSignal; timeoutMs?: number; onProgress?: (message: string) => void }): Promise<RolloutState>;
  /** `kubectl rollout undo` (previous revision), or the given version as the image tag of the target's container. */
  rollback(target: TargetRef, options: { toVersion?: string; cause: string }): Promise<{ images: Record<string, string> }>;
  /** Deletes old revisions (ReplicaSets / ControllerRevisions) beyond the newest `keepVersions`. */
  cleanup(target: TargetRef, keepVersions: number): Promise<{ deleted: string[] }>;
  /** Client configuration for the target's cluster (Jobs for script and db_migrate run there). */
  kubeConfigFor(target: TargetRef): Promise<KubeConfig>;
}

/** An app as an agent target deploys it: the ReleaseApp's artifact and settings for the target's type. */
export interface AgentApp {
  app: string;
  version: string;
  artifact?: ReleaseAppSpec['artifact'];
  docker?: ReleaseAppSpec['docker'];
  script?: ReleaseAppSpec['script'];
  gitpull?: ReleaseAppSpec['gitpull'];
}

export type ApprovalState = 'approved' | 'rejected' | 'pending' | 'expired';

export interface TaskContext {
  task: Task;
  release: { namespace: string; name: string; uid: string; project: string; version: string };
  environment: string;
  target: TargetRef;
  /** What `deploy` sets on this target. */
  images: readonly ImageChange[];
  /** Built-in and release variables, already resolved; passed to scripts as environment variables. */
  variables: Readonly<Record<string, string>>;
  /** Outcomes of earlier tasks of this target, by task id, for `condition` expressions. */
  results: Readonly<Record<string, { status: string; output?: string }>>;
  /** Stable across operator restarts (the history dedup key): names Jobs, keys idempotent requests. */
  runKey: string;
  attempt: number;
  /** When the task run first started; survives restarts so waits resume instead of starting over. */
  startedAt: Date;
  /** True when this attempt continues one an earlier operator process started. */
  resumed: boolean;
  signal: AbortSignal;
  log: (line: string) => void;
  driver: WorkloadDriver;
  /** Decision on this task's approval (approval tasks, wait untilApproved). */
  approval: () => Promise<ApprovalState>;
  /** Hides secret values; applied to every output line and error before it is stored. */
  mask: (text: string) => string;
  now: () => Date;
  /** The notification policy of the Pipeline and Release merged (effectiveNotifications): `notify` channels. */
  notifications?: Notifications;
  /** Agent targets: the apps deployed there, with their settings for the target's type. */
  apps?: readonly AgentApp[];
  /** Agent targets: what the history says is installed there, by app. */
  installations?: Readonly<Record<string, { state: string; version?: string; previousVersion?: string }>>;
  /** The release's operation (deploy = install where absent, update where present). */
  operation?: 'deploy' | 'install' | 'update' | 'rollback' | 'uninstall';
}

export type TaskOutcome =
  | { status: 'succeeded'; output?: string; branch?: 'continue' | 'skip_remaining' | 'fail' }
  | { status: 'failed'; error: string; output?: string; retryable?: boolean };

export interface TaskExecutor {
  type: TaskType;
  /**
   * What an operator restart does with an attempt that was running: `restart` runs it again (it is
   * idempotent: observing, waiting, setting an image), `reattach` follows the work already started
   * (a Job found by name), `at-most-once` never repeats it (a notification) and records it as unconfirmed.
   */
  onRestart: 'restart' | 'reattach' | 'at-most-once';
  run(context: TaskContext): Promise<TaskOutcome>;
}

export type TaskRegistry = ReadonlyMap<TaskType, TaskExecutor>;
