/**
 * Runs one attempt of a `script` or `db_migrate` task as a Kubernetes Job in the target workload's namespace,
 * in the target's cluster. The Job's name comes from the run key and attempt, so creating it is idempotent:
 * an operator that restarts finds the Job it created (AlreadyExists) and follows it instead of running the
 * work a second time. Variables reach the container as environment variables read from a Secret owned by
 * the Job — never spliced into the command, and never in plain text in the Job's spec.
 */
import { createHash } from 'node:crypto';
import { ApiException, BatchV1Api, CoreV1Api, type V1EnvVar, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { sleep } from '../runtime/sleep.ts';
import { errorMessage, permanentFailure } from './task-outcome.ts';
import type { TaskContext, TaskOutcome } from './task-executor.ts';

export interface JobRunOptions {
  /** How often the Job is read while it runs. */
  pollIntervalMs?: number;
  /** Lines of the pod's log kept as the task's output. */
  logTailLines?: number;
  /**
   * How long a finished Job (and its Secret) stays for `kubectl logs`; Kubernetes then deletes it. Longer
   * than any operator outage should last: a Job deleted before its outcome was recorded would run again.
   */
  ttlSecondsAfterFinished?: number;
}

/** What the Job's single container runs. */
export interface JobWork {
  image: string;
  /** Replaces the image's entrypoint; absent = the image's own. */
  command?: string[];
  /** Plain values from the pipeline (not secret); they win over variables of the same name. */
  env?: Readonly<Record<string, string>>;
  workingDir?: string;
}

export const RUN_KEY_ANNOTATION = 'shipway.dev/run-key';
export const ATTEMPT_ANNOTATION = 'shipway.dev/attempt';
export const CONTAINER_NAME = 'task';

const DEFAULT_POLL_MS = 1000;
const DEFAULT_LOG_TAIL_LINES = 50;
const DEFAULT_TTL_SECONDS = 7 * 24 * 3600;
/** Read errors in a row tolerated while following a Job (an API server restart), before giving up. */
const MAX_READ_ERRORS = 10;

/** `shipway-<16 hex of sha256(runKey)>-<attempt>`: a DNS-1123 label well under 63 characters. */
export function jobName(runKey: string, attempt: number): string {
  return `shipway-${runHash(runKey)}-${attempt}`;
}

function runHash(runKey: string): string {
  return createHash('sha256').update(runKey).digest('hex').slice(0, 16);
}

/** A shell-safe environment variable name: letters, digits and `_`, not starting with a digit. */
export function environmentVariableName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned;
}

/** Object names may be longer than a label value (63) allows. */
function labelValue(value: string): string {
  return value.slice(0, 63).replace(/[^A-Za-z0-9]+$/, '');
}

function isStatus(error: unknown, code: number): boolean {
  return error instanceof ApiException && error.code === code;
}

function apiMessage(error: unknown): string {
  if (error instanceof ApiException) {
    const body = typeof error.body === 'string' ? safeJson(error.body) : error.body;
    const message = (body as { message?: unknown } | undefined)?.message;
    return `${error.code}${typeof message === 'string' ? ` ${message}` : ''}`;
  }
  return errorMessage(error);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

interface EnvPlan {
  env: V1EnvVar[];
  secretData: Record<string, string>;
}

/** Variables by reference to the Secret, then the pipeline's plain values; names sanitised, first one wins. */
function planEnvironment(context: TaskContext, work: JobWork, secretName: string): EnvPlan {
  const plain = new Map<string, string>();
  for (const [name, value] of Object.entries(work.env ?? {})) {
    const safe = environmentVariableName(name);
    if (!plain.has(safe)) plain.set(safe, value);
  }
  const env: V1EnvVar[] = [];
  const secretData: Record<string, string> = {};
  for (const [name, value] of Object.entries(context.variables)) {
    const safe = environmentVariableName(name);
    if (plain.has(safe) || safe in secretData) {
      context.log(`variable ${name} is not passed as ${safe}: that name is already taken`);
      continue;
    }
    secretData[safe] = Buffer.from(value, 'utf8').toString('base64');
    env.push({ name: safe, valueFrom: { secretKeyRef: { name: secretName, key: safe } } });
  }
  for (const [name, value] of plain) env.push({ name, value });
  return { env, secretData };
}

function jobLabels(context: TaskContext): Record<string, string> {
  return {
    'app.kubernetes.io/managed-by': 'shipway',
    'shipway.dev/release': labelValue(context.release.name),
    'shipway.dev/target': labelValue(context.target.name),
    'shipway.dev/task': labelValue(context.task.id),
    'shipway.dev/run': runHash(context.runKey),
  };
}

function jobManifest(context: TaskContext, work: JobWork, name: string, namespace: string, env: V1EnvVar[], ttl: number): V1Job {
  const labels = jobLabels(context);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace,
      labels,
      annotations: { [RUN_KEY_ANNOTATION]: context.runKey, [ATTEMPT_ANNOTATION]: String(context.attempt) },
    },
    spec: {
      // One pod per attempt: the engine owns retries, and a rerun pod would run the work twice.
      backoffLimit: 0,
      ...(context.task.timeoutSeconds === undefined ? {} : { activeDeadlineSeconds: context.task.timeoutSeconds }),
      ttlSecondsAfterFinished: ttl,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: CONTAINER_NAME,
              image: work.image,
              ...(work.command ? { command: work.command } : {}),
              ...(work.workingDir ? { workingDir: work.workingDir } : {}),
              ...(env.length > 0 ? { env } : {}),
            },
          ],
        },
      },
    },
  };
}

function finishedCondition(job: V1Job): { type: 'Complete' | 'Failed'; reason: string; message: string } | undefined {
  for (const condition of job.status?.conditions ?? []) {
    if ((condition.type === 'Complete' || condition.type === 'Failed') && condition.status === 'True') {
      return { type: condition.type, reason: condition.reason ?? '', message: condition.message ?? '' };
    }
  }
  return undefined;
}

export async function runJob(context: TaskContext, work: JobWork, options: JobRunOptions = {}): Promise<TaskOutcome> {
  const namespace = context.target.spec.kubernetes?.namespace;
  if (context.target.spec.type !== 'kubernetes' || !namespace) {
    return permanentFailure(`${context.task.type} runs as a Kubernetes Job only on kubernetes targets; ${context.target.name} is a ${context.target.spec.type} target served by its agent`);
  }
  const kubeConfig = await context.driver.kubeConfigFor(context.target);
  const batch = kubeConfig.makeApiClient(BatchV1Api);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const name = jobName(context.runKey, context.attempt);
  const { env, secretData } = planEnvironment(context, work, name);
  const manifest = jobManifest(context, work, name, namespace, env, options.ttlSecondsAfterFinished ?? DEFAULT_TTL_SECONDS);

  let job: V1Job;
  let created = false;
  try {
    job = await batch.createNamespacedJob({ namespace, body: manifest });
    created = true;
    context.log(`created Job ${namespace}/${name}`);
  } catch (error) {
    if (!isStatus(error, 409)) throw new Error(`creating Job ${namespace}/${name} failed: ${apiMessage(error)}`, { cause: error });
    job = await batch.readNamespacedJob({ name, namespace });
    if (job.metadata?.annotations?.[RUN_KEY_ANNOTATION] !== context.runKey) {
      return permanentFailure(`Job ${namespace}/${name} already exists and was not created for this task run; delete it or rename it`);
    }
    context.log(`reattached to Job ${namespace}/${name}`);
  }
  if (Object.keys(secretData).length > 0) {
    try {
      await ensureSecret(core, context, job, name, namespace, secretData);
    } catch (error) {
      // Without its Secret the new pod would wait forever, so the next attempt starts over with a new Job.
      // A Job found on reattach is left alone: it may have run already.
      if (created) await batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' }).catch(() => undefined);
      throw error;
    }
  }

  const finished = await follow(batch, context, name, namespace, options.pollIntervalMs ?? DEFAULT_POLL_MS);
  if (finished === 'deleted') return { status: 'failed', error: `Job ${namespace}/${name} was deleted before it finished`, retryable: true };
  const { condition, job: last } = finished;
  const pod = await jobPod(core, last, namespace);
  const tail = pod?.metadata?.name ? await logTail(core, context, pod.metadata.name, namespace, options.logTailLines ?? DEFAULT_LOG_TAIL_LINES) : undefined;
  const output = tail === undefined ? undefined : context.mask(tail);
  if (condition.type === 'Complete') {
    return { status: 'succeeded', output: output ?? `Job ${namespace}/${name} complete${condition.message ? `: ${condition.message}` : ''}` };
  }
  const terminated = pod?.status?.containerStatuses?.find((s) => s.name === CONTAINER_NAME)?.state?.terminated;
  const exit = terminated ? ` (container exit code ${terminated.exitCode}${terminated.reason ? `, ${terminated.reason}` : ''})` : '';
  return {
    status: 'failed',
    error: context.mask(`Job ${namespace}/${name} failed: ${[condition.reason, condition.message].filter(Boolean).join(': ')}${exit}`),
    ...(output === undefined ? {} : { output }),
    retryable: true,
  };
}

/** The variables' Secret, owned by the Job so it goes when the Job goes. A pod waits for it if it is late. */
async function ensureSecret(core: CoreV1Api, context: TaskContext, job: V1Job, name: string, namespace: string, data: Record<string, string>): Promise<void> {
  try {
    await core.createNamespacedSecret({
      namespace,
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: {
          name,
          namespace,
          labels: jobLabels(context),
          ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid: job.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
        },
        data,
      },
    });
  } catch (error) {
    if (!isStatus(error, 409)) throw new Error(`creating Secret ${namespace}/${name} for the variables failed: ${apiMessage(error)}`, { cause: error });
  }
}

async function follow(batch: BatchV1Api, context: TaskContext, name: string, namespace: string, pollMs: number) {
  let errors = 0;
  let lastActive: number | undefined;
  for (;;) {
    context.signal.throwIfAborted();
    try {
      const job = await batch.readNamespacedJob({ name, namespace });
      errors = 0;
      const condition = finishedCondition(job);
      if (condition) return { condition, job };
      const active = job.status?.active ?? 0;
      if (active !== lastActive && active > 0) context.log(`Job ${namespace}/${name}: its pod is active`);
      lastActive = active;
    } catch (error) {
      if (isStatus(error, 404)) return 'deleted' as const;
      errors++;
      if (errors >= MAX_READ_ERRORS) throw new Error(`reading Job ${namespace}/${name} failed ${errors} times: ${apiMessage(error)}`, { cause: error });
      context.log(`reading Job ${namespace}/${name} failed, trying again: ${apiMessage(error)}`);
    }
    await sleep(pollMs, context.signal);
  }
}

/** The Job's newest pod (with backoffLimit 0 there is one, unless a node lost it). */
async function jobPod(core: CoreV1Api, job: V1Job, namespace: string): Promise<V1Pod | undefined> {
  const uid = job.metadata?.uid;
  if (!uid) return undefined;
  try {
    const pods = await core.listNamespacedPod({ namespace, labelSelector: `batch.kubernetes.io/controller-uid=${uid}` });
    const created = (pod: V1Pod) => new Date(pod.metadata?.creationTimestamp ?? 0).getTime();
    return pods.items.sort((a, b) => created(b) - created(a))[0];
  } catch {
    return undefined;
  }
}

/** The last lines of the pod's log, or nothing when the server does not serve it (the outcome does not depend on it). */
async function logTail(core: CoreV1Api, context: TaskContext, pod: string, namespace: string, lines: number): Promise<string | undefined> {
  try {
    const text = await core.readNamespacedPodLog({ name: pod, namespace, container: CONTAINER_NAME, tailLines: lines });
    return typeof text === 'string' && text.trim() !== '' ? text.trimEnd() : undefined;
  } catch (error) {
    context.log(`the log of pod ${namespace}/${pod} is not readable: ${apiMessage(error)}`);
    return undefined;
  }
}
