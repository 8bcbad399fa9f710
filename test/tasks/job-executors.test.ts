import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDbMigrateExecutor } from '../../operator/src/tasks/db-migrate-executor.ts';
import { jobName, RUN_KEY_ANNOTATION } from '../../operator/src/tasks/kubernetes-job.ts';
import { createScriptExecutor } from '../../operator/src/tasks/script-executor.ts';
import type { TaskContext, WorkloadDriver } from '../../operator/src/tasks/task-executor.ts';
import { workloadControllers } from '../kube-api/controllers/index.ts';
import { startEmulator, type RunningEmulator } from '../kube-api/emulator.ts';
import type { KubeObject } from '../kube-api/store.ts';
import { until } from '../support/until.ts';
import { kubernetesTarget, SECRET, task, taskContext, unusedDriver } from './task-context.ts';

const NAMESPACE = 'shop';
const options = { pollIntervalMs: 20 };
const script = createScriptExecutor(options);
const dbMigrate = createDbMigrateExecutor(options);

let runs = 0;
/** A fresh run key per test, so every test has its own Jobs. */
const runKey = () => `shop/shop-1-1-0/pre/web-pre/run-report/${++runs}`;

describe('script and db_migrate executors (Kubernetes Jobs)', () => {
  let emulator: RunningEmulator;
  let driver: WorkloadDriver;

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, controllers: workloadControllers, podReadyDelayMs: 50 });
    emulator.api.create(emulator.api.mustType('', 'namespaces'), undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(emulator.kubeconfig);
    driver = { ...unusedDriver, kubeConfigFor: async () => kubeConfig };
  });
  afterAll(async () => emulator.stop());

  const jobs = () => emulator.api.list(emulator.api.mustType('batch', 'jobs'), NAMESPACE);
  const job = (name: string) => jobs().find((j) => j.metadata.name === name);
  const secret = (name: string) => emulator.api.list(emulator.api.mustType('', 'secrets'), NAMESPACE).find((s) => s.metadata.name === name);
  const podsOf = (j: KubeObject) => emulator.api.list(emulator.api.mustType('', 'pods'), NAMESPACE).filter((p) => p.metadata.ownerReferences?.[0]?.uid === j.metadata.uid);

  const reportTask = (fields: { image?: string; timeoutSeconds?: number; env?: Record<string, string> } = {}) =>
    task({
      id: 'run-report',
      type: 'script',
      ...(fields.timeoutSeconds ? { timeoutSeconds: fields.timeoutSeconds } : {}),
      script: { script: 'echo "report for $RELEASE_VERSION"', interpreter: '/bin/sh', ...(fields.image ? { image: fields.image } : {}), ...(fields.env ? { env: fields.env } : {}) },
    });
  const context = (t = reportTask({ image: 'busybox:1' }), overrides: Partial<TaskContext> = {}) => taskContext(t, { driver, runKey: runKey(), ...overrides });

  it('runs the script as a Job and succeeds when it completes', async () => {
    const ctx = context(reportTask({ image: 'busybox:1', timeoutSeconds: 120 }));
    const outcome = await script.run(ctx);
    expect(outcome).toEqual({ status: 'succeeded', output: `Job ${NAMESPACE}/${jobName(ctx.runKey, 1)} complete: Reached expected number of succeeded pods` });
    const created = job(jobName(ctx.runKey, 1))!;
    expect(created.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'shipway',
      'shipway.dev/release': 'shop-1-1-0',
      'shipway.dev/target': 'web-pre',
      'shipway.dev/task': 'run-report',
    });
    expect(created.metadata.annotations[RUN_KEY_ANNOTATION]).toBe(ctx.runKey);
    expect(created.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 120 });
    expect(created.spec.template.spec).toMatchObject({ restartPolicy: 'Never' });
    expect(created.spec.template.spec.containers[0]).toMatchObject({ image: 'busybox:1', command: ['/bin/sh', '-c', 'echo "report for $RELEASE_VERSION"'] });
  });

  it('names Jobs as DNS labels of at most 63 characters, one per run and attempt', () => {
    const name = jobName('x'.repeat(500), 20);
    expect(name).toMatch(/^shipway-[0-9a-f]{16}-20$/);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(jobName('a', 1)).not.toBe(jobName('a', 2));
    expect(jobName('a', 1)).not.toBe(jobName('b', 1));
  });

  it('fails with the Job condition when the pod fails', async () => {
    const ctx = context(reportTask({ image: 'busybox:1-fail' }));
    const outcome = await script.run(ctx);
    expect(outcome).toMatchObject({
      status: 'failed',
      retryable: true,
      error: expect.stringMatching(new RegExp(`^Job ${NAMESPACE}/${jobName(ctx.runKey, 1)} failed: BackoffLimitExceeded: Job has reached the specified backoff limit \\(container exit code 1, Error\\)$`)),
    });
    // backoffLimit 0: one pod, no second run of the work.
    expect(podsOf(job(jobName(ctx.runKey, 1))!)).toHaveLength(1);
  });

  it('creates one Job when called twice for the same run and attempt, reattaching the second time', async () => {
    const ctx = context();
    const lines: string[] = [];
    const first = await script.run(ctx);
    const second = await script.run({ ...ctx, resumed: true, log: (line) => lines.push(line) });
    expect(second).toEqual(first);
    expect(jobs().filter((j) => j.metadata.annotations?.[RUN_KEY_ANNOTATION] === ctx.runKey)).toHaveLength(1);
    expect(lines).toContain(`reattached to Job ${NAMESPACE}/${jobName(ctx.runKey, 1)}`);
  });

  it('follows the Job a stopped operator started instead of starting another', async () => {
    const ctx = context();
    const stopped = new AbortController();
    const interrupted = script.run({ ...ctx, signal: stopped.signal });
    await until(() => job(jobName(ctx.runKey, 1)) !== undefined);
    stopped.abort(new Error('operator stopping'));
    await expect(interrupted).rejects.toThrow('operator stopping');
    const resumed = await script.run({ ...ctx, resumed: true });
    expect(resumed).toMatchObject({ status: 'succeeded' });
    expect(podsOf(job(jobName(ctx.runKey, 1))!)).toHaveLength(1);
  });

  it('starts a new Job for a new attempt', async () => {
    const ctx = context();
    await script.run(ctx);
    await script.run({ ...ctx, attempt: 2 });
    expect(jobs().filter((j) => j.metadata.annotations?.[RUN_KEY_ANNOTATION] === ctx.runKey).map((j) => j.metadata.name).sort()).toEqual([
      jobName(ctx.runKey, 1),
      jobName(ctx.runKey, 2),
    ]);
  });

  it('passes variables as environment variables from a Secret the Job owns, never in the command', async () => {
    const ctx = context(reportTask({ image: 'busybox:1', env: { LOG_LEVEL: 'debug', RELEASE_VERSION: 'from-the-pipeline' } }), {
      variables: { RELEASE_VERSION: '1.1.0', API_TOKEN: SECRET, 'app.port': '8080', '9LIVES': 'x' },
    });
    await script.run(ctx);
    const name = jobName(ctx.runKey, 1);
    const created = job(name)!;
    const [pod] = podsOf(created);
    for (const spec of [created.spec.template.spec, pod!.spec]) {
      const container = spec.containers[0];
      expect(container.env).toEqual([
        { name: 'API_TOKEN', valueFrom: { secretKeyRef: { name, key: 'API_TOKEN' } } },
        { name: 'app_port', valueFrom: { secretKeyRef: { name, key: 'app_port' } } },
        { name: '_9LIVES', valueFrom: { secretKeyRef: { name, key: '_9LIVES' } } },
        { name: 'LOG_LEVEL', value: 'debug' },
        { name: 'RELEASE_VERSION', value: 'from-the-pipeline' },
      ]);
      expect(JSON.stringify(container.command)).not.toContain('1.1.0');
    }
    expect(JSON.stringify(created)).not.toContain(SECRET);
    const stored = secret(name)!;
    expect(Buffer.from(stored.data.API_TOKEN, 'base64').toString()).toBe(SECRET);
    expect(stored.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Job', name, uid: created.metadata.uid })]);
  });

  it('refuses a script task without image on a Kubernetes target, naming the field', async () => {
    const outcome = await script.run(context(reportTask()));
    expect(outcome).toEqual({ status: 'failed', retryable: false, error: expect.stringContaining('script.image is required on Kubernetes targets') });
  });

  it('refuses a Job for a target that is not a Kubernetes workload', async () => {
    const target = { ...kubernetesTarget, spec: { type: 'script' as const, environment: 'pre', priority: 0, agent: 'host-1' } };
    const outcome = await script.run(context(undefined, { target }));
    expect(outcome).toMatchObject({ status: 'failed', retryable: false, error: expect.stringContaining('served by its agent') });
  });

  it('refuses to adopt a Job of the same name that another run created', async () => {
    const ctx = context();
    emulator.api.create(emulator.api.mustType('batch', 'jobs'), NAMESPACE, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: jobName(ctx.runKey, 1) },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'x', image: 'busybox:1' }] } } },
    });
    expect(await script.run(ctx)).toMatchObject({ status: 'failed', retryable: false, error: expect.stringContaining('was not created for this task run') });
  });

  it('runs a db_migrate command with /bin/sh -c, exposing the migration path', async () => {
    const migrate = task({ id: 'migrate', type: 'db_migrate', dbMigrate: { command: 'migrate up', migrationPath: '/migrations', image: 'migrate:4', rollbackOnFail: false } });
    const ctx = context(migrate, { variables: {} });
    expect(await dbMigrate.run(ctx)).toMatchObject({ status: 'succeeded' });
    const container = job(jobName(ctx.runKey, 1))!.spec.template.spec.containers[0];
    expect(container).toMatchObject({ image: 'migrate:4', command: ['/bin/sh', '-c', 'migrate up'], env: [{ name: 'MIGRATION_PATH', value: '/migrations' }] });
  });

  it("runs a db_migrate image's own entrypoint when only migrationPath is given", async () => {
    const migrate = task({ id: 'migrate', type: 'db_migrate', dbMigrate: { migrationPath: '/migrations', image: 'flyway:10-fail', rollbackOnFail: false } });
    const ctx = context(migrate, { variables: {} });
    expect(await dbMigrate.run(ctx)).toMatchObject({ status: 'failed', error: expect.stringContaining('BackoffLimitExceeded') });
    const container = job(jobName(ctx.runKey, 1))!.spec.template.spec.containers[0];
    expect(container.command).toBeUndefined();
    expect(container.env).toEqual([{ name: 'MIGRATION_PATH', value: '/migrations' }]);
  });

  it('refuses a db_migrate task without image, naming the field', async () => {
    const migrate = task({ id: 'migrate', type: 'db_migrate', dbMigrate: { command: 'migrate up', rollbackOnFail: false } });
    expect(await dbMigrate.run(context(migrate))).toEqual({ status: 'failed', retryable: false, error: expect.stringContaining('dbMigrate.image is required on Kubernetes targets') });
  });

  it('reattaches after a restart rather than repeating the work', () => {
    expect(script.onRestart).toBe('reattach');
    expect(dbMigrate.onRestart).toBe('reattach');
  });
});
