/**
 * Runs the work the release machine asks for on one target — the pipeline (deploy), a verification, a
 * rollback — in the background, and reports what happened. Every piece of work has a dedup key and a
 * history row written before it starts, so a request repeated on every reconcile, or after the operator
 * was killed, finds the row: finished work is reported from history and never repeated; unfinished work
 * is resumed, each task as its executor allows (`onRestart`).
 */
import type { Notifications } from '../api/notifications.ts';
import { createAgentTaskRegistry, dispatchToApps, type AgentDispatcher } from '../tasks/agent-dispatch.ts';
import type { PipelineSpec, Task, TaskType } from '../api/pipeline.ts';
import type { HealthCheckSpec } from '../api/common.ts';
import type { StageResult, TargetDeployMode } from '../api/release.ts';
import type { KubernetesWorkloadDriver } from '../kubernetes/workload-driver.ts';
import { modeDeployExecutor, PHASES_OF_MODE } from './deploy-modes.ts';
import { workKey, type TargetWork } from '../planning/release-machine.ts';
import { withTag } from '../planning/workload-rollout.ts';
import { nextTasks, targetStages, type StagePlan, type TaskState } from '../planning/target-pipeline.ts';
import { evaluateCondition } from '../planning/task-condition.ts';
import type { Deployment, Repository, StageRun, TaskRun } from '../storage/index.ts';
import { sleep } from '../runtime/sleep.ts';
import type { AgentApp, ApprovalState, ImageChange, TargetRef, TaskContext, TaskExecutor, TaskOutcome, TaskRegistry } from '../tasks/task-executor.ts';
import { kubeTime } from '../api/kube-time.ts';
import { agentInstallationsTarget } from '../api/target.ts';
import { WorkCancelled } from '../tasks/work-cancelled.ts';

export interface ReleaseRef {
  uid: string;
  namespace: string;
  name: string;
  project: string;
  version: string;
  /** The releases row. */
  releaseId: string;
  operation: 'deploy' | 'install' | 'update' | 'rollback' | 'uninstall';
}

/** One app's change on the target. Without ReleaseApps the release itself is the one unit. */
export interface DeployUnit {
  app: string;
  releaseAppId?: string;
  version: string;
  images: ImageChange[];
  /** Agent targets: the ReleaseApp's artifact and settings. */
  agent?: AgentApp;
}

export interface TargetJob {
  release: ReleaseRef;
  environment: string;
  target: TargetRef;
  attempt: number;
  /** The rollout step; with an in-workload canary a target has two (the canary, then its promotion). */
  stepIndex: number;
  mode: TargetDeployMode;
  canaryPercent?: number;
  /** Blue-green: keep the old colour, scaled to 0, after the switch. */
  keepOldVersion?: boolean;
  pipeline?: PipelineSpec;
  units: DeployUnit[];
  variables: Record<string, string>;
  /** The release's notification channels, for notify tasks that name them. */
  notifications?: Notifications;
  /** The canary's health check, run when its verify window ends. */
  healthCheck?: HealthCheckSpec;
  /** Agent targets: what the history says is installed (read when the work starts). */
  installations?: Record<string, { state: string; version?: string; previousVersion?: string }>;
}

/** docker, script and gitpull targets are served by agents; the rest by the Kubernetes driver. */
export const isAgentTarget = (target: TargetRef) => target.spec.type !== 'kubernetes';

export interface TargetRunnerOptions {
  repo: Repository;
  registry: TaskRegistry;
  driver: KubernetesWorkloadDriver;
  mask: (text: string) => string;
  /** Called with the release's `namespace/name` whenever a report changes. */
  onChange: (releaseKey: string) => void;
  log?: (message: string) => void;
  now?: () => Date;
  /** How long a rollback may take to roll out. */
  rollbackTimeoutMs?: number;
  /** Sends work for agent targets (docker, script, gitpull) to their agents. */
  agents?: AgentDispatcher;
}

const OUTPUT_TAIL = 4000;
const FINISHED = new Set(['succeeded', 'failed', 'skipped', 'cancelled', 'timed_out']);
const iso = (d: Date | null | undefined) => (d ? kubeTime(d) : undefined);
const tail = (text: string) => (text.length > OUTPUT_TAIL ? text.slice(-OUTPUT_TAIL) : text);
const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

interface Running {
  kind: 'deploy' | 'verify' | 'rollback';
  releaseUid: string;
  /** `env/target` and attempt/step of the work, for `busy`. */
  work: string;
  attempt: number;
  step: number;
  abort: AbortController;
  done: Promise<void>;
}


export class TargetRunner {
  private readonly jobs = new Map<string, Running>();
  private readonly reports = new Map<string, Map<string, TargetWork>>();
  private readonly now: () => Date;
  private stopped = false;

  constructor(private readonly o: TargetRunnerOptions) {
    this.now = o.now ?? (() => new Date());
  }

  /** What is known about the targets of a release, by `env/target`. */
  report(releaseUid: string): ReadonlyMap<string, TargetWork> {
    return this.reports.get(releaseUid) ?? new Map();
  }

  ensureDeploy(job: TargetJob): void {
    this.start(`${deployKey(job)}`, 'deploy', job, (signal) => this.deploy(job, signal));
  }

  ensureVerify(job: TargetJob): void {
    this.start(`${deployKey(job)}/verify`, 'verify', job, (signal) => this.verify(job, signal));
  }

  ensureRollback(job: TargetJob, round: number, toVersion: string | undefined, reason: string): void {
    this.start(`${targetKey(job)}/rollback-${round}`, 'rollback', job, (signal) => this.rollback(job, round, toVersion, reason, signal));
  }

  /** Whether this work is running now (an ensure request for it would be a no-op). */
  busy(releaseUid: string, environment: string, target: string, kind: 'deploy' | 'verify', attempt: number, step: number): boolean {
    const work = workKey(environment, target);
    for (const run of this.jobs.values()) {
      if (run.releaseUid === releaseUid && run.kind === kind && run.work === work && run.attempt === attempt && run.step === step && !run.abort.signal.aborted) return true;
    }
    return false;
  }

  /** Aborts the deploys and verifications of a release (not its rollbacks). */
  cancel(releaseUid: string): void {
    for (const run of this.jobs.values()) if (run.releaseUid === releaseUid && run.kind !== 'rollback') run.abort.abort(new WorkCancelled('cancel'));
  }

  /** Drops what is kept about a finished release. */
  forget(releaseUid: string): void {
    this.cancel(releaseUid);
    this.reports.delete(releaseUid);
  }

  /** Accepts work again after stop (a replica that leads again). */
  restart(): void {
    this.stopped = false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const run of this.jobs.values()) run.abort.abort(new WorkCancelled('stop'));
    await Promise.allSettled([...this.jobs.values()].map((r) => r.done));
  }

  private start(key: string, kind: Running['kind'], job: TargetJob, work: (signal: AbortSignal) => Promise<void>) {
    if (this.stopped || this.jobs.has(key)) return;
    const abort = new AbortController();
    const done = work(abort.signal)
      .catch((error) => {
        if (!(error instanceof WorkCancelled) && !abort.signal.aborted) this.o.log?.(`${kind} ${key}: ${this.o.mask(errorText(error))}`);
        if (!abort.signal.aborted) {
          // A failure of the runner itself (database down, bug) leaves no report, so the next reconcile asks again.
          this.update(job, (w) => delete w[kind]);
        }
      })
      .finally(() => this.jobs.delete(key));
    this.jobs.set(key, { kind, releaseUid: job.release.uid, work: workKey(job.environment, job.target.name), attempt: job.attempt, step: job.stepIndex, abort, done });
  }

  private update(job: TargetJob, change: (work: TargetWork) => void) {
    let byTarget = this.reports.get(job.release.uid);
    if (!byTarget) this.reports.set(job.release.uid, (byTarget = new Map()));
    const key = workKey(job.environment, job.target.name);
    const work = structuredClone(byTarget.get(key) ?? {});
    change(work);
    byTarget.set(key, work);
    this.o.onChange(`${job.release.namespace}/${job.release.name}`);
  }

  // ------------------------------------------------------------------------------------------- deploy

  private async deploy(job: TargetJob, signal: AbortSignal): Promise<void> {
    const { repo, driver } = this.o;
    const key = deployKey(job);
    const startedAt = this.now();
    let observedVersion: string | undefined;
    let observeError: string | undefined;
    try {
      if (isAgentTarget(job.target)) throw new AgentTarget();
      const observed = await driver.observe(job.target);
      observedVersion = observed.version;
      // Without a ReleaseApp image the release version becomes the tag of the target's container image.
      const container = job.target.spec.kubernetes?.container ?? Object.keys(observed.images)[0];
      const current = container ? observed.images[container] : undefined;
      job = { ...job, units: job.units.map((u) => (u.images.length > 0 || !current ? u : { ...u, images: [{ image: withTag(current, u.version) }] })) };
    } catch (error) {
      if (error instanceof AgentTarget) {
        // No workload to look at: what is installed comes from the history (kept by earlier agent work).
        job = { ...job, installations: await this.installationsOf(job) };
        observedVersion = job.installations![job.units[0]!.app]?.version;
      } else {
        // Recorded like any failed attempt, so history shows it and a retry is a second attempt.
        observeError = this.o.mask(errorText(error));
      }
    }
    const rows: Deployment[] = [];
    for (const unit of job.units) {
      rows.push(
        await repo.recordDeployment({
          ...deploymentIdentity(job, unit, `${key}/${unit.app}`),
          version: unit.version,
          previousVersion: observedVersion ?? null,
          operation: job.release.operation,
          status: observeError ? 'failed' : 'running',
          startedAt,
          ...(observeError ? { error: observeError, finishedAt: this.now() } : {}),
        }),
      );
    }
    const primary = rows[0]!;
    const base = { attempt: job.attempt, step: job.stepIndex, version: primary.version, previousVersion: primary.previousVersion ?? undefined, startedAt: iso(primary.startedAt ?? startedAt) };
    if (primary.status === 'succeeded' || primary.status === 'failed' || primary.status === 'rolled_back') {
      const stages = await this.stageResults(primary);
      this.update(job, (w) => (w.deploy = {
        ...base, state: primary.status === 'failed' ? 'failed' : 'succeeded', error: primary.error ?? undefined, stages, finishedAt: iso(primary.finishedAt),
        ...(migratedIn(job, stages) ? { migrated: true } : {}),
      }));
      return;
    }
    this.update(job, (w) => (w.deploy = { ...base, state: 'running', currentStep: 'starting' }));

    const pipeline = new PipelineRun(this, job, primary, signal);
    let outcome: PipelineOutcome;
    try {
      outcome = await pipeline.run();
    } catch (error) {
      // A cancelled release is history; an operator that stops leaves the rows running, to be resumed.
      if (signal.aborted && (signal.reason as Error | undefined)?.message === 'cancelled') {
        for (const row of rows) {
          const fresh = (await repo.getDeployment(row.id)) ?? row;
          await repo.updateDeployment(fresh.id, fresh.lockVersion, { status: 'cancelled', finishedAt: this.now() });
        }
      }
      throw error;
    }
    const finishedAt = this.now();
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const fresh = (await repo.getDeployment(row.id)) ?? row;
      rows[i] = await repo.updateDeployment(fresh.id, fresh.lockVersion, {
        status: outcome.failed ? 'failed' : 'succeeded',
        error: outcome.failed ? outcome.error : null,
        finishedAt,
      });
    }
    if (!outcome.failed && job.mode === 'blueGreen' && !isAgentTarget(job.target)) {
      // Only after the pipeline's checks passed on the switched Service is the old colour retired.
      await driver.finishBlueGreen(job.target, job.keepOldVersion ?? true);
    }
    if (!outcome.failed && isAgentTarget(job.target) && job.release.operation === 'uninstall') {
      // Gone from the host: the next deploy installs again; the version it had stays as the previous one.
      for (const unit of job.units) await this.recordInstallation(job, unit.app, null, 'uninstalled', job.installations?.[unit.app]?.version);
    } else if (!outcome.failed && (job.mode !== 'canary' || isAgentTarget(job.target))) {
      for (const unit of job.units) await this.recordInstallation(job, unit.app, unit.version, 'installed', observedVersion);
    }
    this.update(job, (w) => (w.deploy = {
      ...base,
      state: outcome.failed ? 'failed' : 'succeeded',
      ...(outcome.failed ? { error: outcome.error, wantsRollback: outcome.wantsRollback } : {}),
      stages: pipeline.results(),
      ...(migratedIn(job, pipeline.results()) ? { migrated: true } : {}),
      currentStep: outcome.failed ? `failed: ${outcome.error}` : 'done',
      finishedAt: iso(finishedAt),
    }));
  }

  private async recordInstallation(job: TargetJob, app: string, version: string | null, state: 'installed' | 'uninstalled' | 'failed', previous?: string) {
    const target = `${job.target.namespace}/${job.target.name}`;
    for (let tries = 0; tries < 3; tries++) {
      const current = await this.o.repo.getTargetInstallation(target, app);
      try {
        await this.o.repo.upsertTargetInstallation({ target, app, version, previousVersion: previous ?? current?.version ?? null, state, installedAt: this.now() }, current?.lockVersion);
        return;
      } catch (error) {
        if (tries === 2) throw error;
      }
    }
  }

  /** Stage and task results of a finished deployment, from history. */
  private async stageResults(primary: Deployment): Promise<StageResult[]> {
    const stages = await this.o.repo.listStageRunsOfDeployment(primary.id);
    const out: StageResult[] = [];
    for (const s of stages) {
      const tasks = await this.o.repo.listTaskRunsOfStageRun(s.id);
      out.push(stageResult(s, tasks));
    }
    return out;
  }

  /** Used by PipelineRun. */
  context(job: TargetJob, task: Task, taskKey: string, row: TaskRun, attempt: number, resumed: boolean, signal: AbortSignal, results: Record<string, { status: string; output?: string }>, log: (line: string) => void): TaskContext {
    const { repo } = this.o;
    return {
      task,
      release: { namespace: job.release.namespace, name: job.release.name, uid: job.release.uid, project: job.release.project, version: job.release.version },
      environment: job.environment,
      target: job.target,
      images: job.units.flatMap((u) => u.images),
      variables: job.variables,
      ...(job.notifications ? { notifications: job.notifications } : {}),
      ...(isAgentTarget(job.target) ? { apps: job.units.flatMap((u) => (u.agent ? [u.agent] : [])), installations: job.installations ?? {}, operation: job.release.operation as TaskContext['operation'] } : {}),
      results,
      runKey: taskKey,
      attempt,
      startedAt: row.startedAt ?? this.now(),
      resumed,
      signal,
      log,
      driver: this.o.driver,
      approval: async (): Promise<ApprovalState> => {
        const timeout = task.approval?.timeoutSeconds;
        const approval = await repo.recordApproval({
          dedupKey: `${taskKey}/approval`,
          releaseId: job.release.releaseId,
          environment: job.environment,
          status: 'pending',
          approvers: task.approval?.approvers ?? [],
          expiresAt: timeout ? new Date((row.startedAt ?? this.now()).getTime() + timeout * 1000) : null,
        });
        if (approval.status === 'pending' && approval.expiresAt && approval.expiresAt.getTime() <= this.now().getTime()) return 'expired';
        return approval.status;
      },
      mask: this.o.mask,
      now: this.now,
    };
  }

  private agentRegistry?: TaskRegistry;

  /** The executors for a job: agent targets send host work to their agent. */
  registryFor(job: TargetJob): TaskRegistry {
    if (!isAgentTarget(job.target)) return this.o.registry;
    if (!this.o.agents) return this.o.registry;
    return (this.agentRegistry ??= createAgentTaskRegistry(this.o.registry, this.o.agents));
  }

  /** The executor of one task of a job: the deploy of a canary, promotion or blue-green is its mode's. */
  executorFor(job: TargetJob, type: TaskType): TaskExecutor | undefined {
    if (type === 'deploy' && job.mode !== 'update' && !isAgentTarget(job.target)) return this.deployExecutor(job);
    return this.registryFor(job).get(type);
  }

  /**
   * What is installed on an agent target, by app: the history's rows for the Target, and for an app they do
   * not know, what its agent reported on hello for the Target's type (an app installed before this database
   * or this Target existed is updated, not installed over).
   */
  private async installationsOf(job: TargetJob): Promise<NonNullable<TargetJob['installations']>> {
    const { repo } = this.o;
    const agentId = job.target.spec.agent;
    const sources = [
      `${job.target.namespace}/${job.target.name}`,
      // Not the untyped `agent:<id>` rows: which of the host's executors installed those is not known.
      ...(agentId ? [agentInstallationsTarget(agentId, job.target.spec.type)] : []),
    ];
    const installations: NonNullable<TargetJob['installations']> = {};
    for (const source of sources) {
      for (const r of await repo.listInstallationsOfTarget(source)) {
        installations[r.app] ??= { state: r.state, ...(r.version ? { version: r.version } : {}), ...(r.previousVersion ? { previousVersion: r.previousVersion } : {}) };
      }
    }
    return installations;
  }

  deployExecutor(job: TargetJob): TaskExecutor {
    return modeDeployExecutor(this.o.driver, job.mode, job.canaryPercent);
  }

  get repo() {
    return this.o.repo;
  }

  get clock() {
    return this.now;
  }

  get masker() {
    return this.o.mask;
  }

  progress(job: TargetJob, currentStep: string, stages: StageResult[]) {
    this.update(job, (w) => {
      if (w.deploy && w.deploy.attempt === job.attempt && w.deploy.step === job.stepIndex && w.deploy.state === 'running') {
        w.deploy.currentStep = currentStep;
        w.deploy.stages = stages;
        if (migratedIn(job, stages)) w.deploy.migrated = true;
      }
    });
  }

  // ------------------------------------------------------------------------------------------- verify

  private async verify(job: TargetJob, signal: AbortSignal): Promise<void> {
    this.update(job, (w) => (w.verify = { attempt: job.attempt, step: job.stepIndex, state: 'running' }));
    let error: string | undefined;
    try {
      if (isAgentTarget(job.target)) {
        error = await this.verifyOnAgent(job, signal);
        throw new AgentTarget();
      }
      const rollout = job.mode === 'canary' ? await this.o.driver.canaryState(job.target) : (await this.o.driver.observe(job.target)).rollout;
      if (rollout.state !== 'done') error = `${job.mode === 'canary' ? 'canary' : 'workload'} not healthy: ${rollout.message}`;
      else if (job.healthCheck) {
        const executor = this.o.registry.get('health_check');
        const task: Task = { id: 'verify', type: 'health_check', retry: 0, retryDelaySeconds: 0, healthCheck: job.healthCheck };
        const row = { startedAt: this.now() } as TaskRun;
        const outcome: TaskOutcome = executor
          ? await executor.run(this.context(job, task, `${deployKey(job)}/verify`, row, 1, false, signal, {}, () => {}))
          : { status: 'failed', error: 'no health_check executor' };
        if (outcome.status === 'failed') error = `health check failed: ${outcome.error}`;
      }
    } catch (e) {
      if (signal.aborted) throw new WorkCancelled('cancel');
      if (!(e instanceof AgentTarget)) error = errorText(e);
    }
    const masked = error === undefined ? undefined : this.o.mask(error);
    this.update(job, (w) => (w.verify = { attempt: job.attempt, step: job.stepIndex, state: masked ? 'failed' : 'succeeded', ...(masked ? { error: masked } : {}) }));
  }

  /** The history row of a rollback, written before it starts (found again when the request repeats). */
  private rollbackRow(job: TargetJob, key: string, unit: DeployUnit, version: string | undefined, previous: string | undefined, reason: string): Promise<Deployment> {
    return this.o.repo.recordDeployment({
      ...deploymentIdentity(job, unit, `${key}/${unit.app}`),
      version: version ?? 'previous',
      previousVersion: previous ?? null,
      operation: 'rollback',
      status: 'running',
      error: this.o.mask(reason).slice(0, 4000),
      startedAt: this.now(),
    });
  }

  /** The deployments a rollback undid are marked so, for history and the ReleaseApp's status. */
  private async markRolledBack(job: TargetJob, target: string): Promise<void> {
    const { repo } = this.o;
    for (const d of await repo.listDeploymentsOfRelease(job.release.releaseId)) {
      if (d.environment === job.environment && d.target === target && d.operation !== 'rollback' && (d.status === 'succeeded' || d.status === 'failed' || d.status === 'running')) {
        await repo.updateDeployment(d.id, d.lockVersion, { status: 'rolled_back', finishedAt: d.finishedAt ?? this.now() }).catch(() => undefined);
      }
    }
  }

  /** An agent target has no workload to observe: its verification is the health check, run on its host. */
  private async verifyOnAgent(job: TargetJob, signal: AbortSignal): Promise<string | undefined> {
    if (!job.healthCheck || !this.o.agents) return undefined;
    const task: Task = { id: 'verify', type: 'health_check', retry: 0, retryDelaySeconds: 0, healthCheck: job.healthCheck };
    const installed = { ...job, installations: await this.installationsOf(job) };
    const outcome = await dispatchToApps(this.o.agents, this.context(installed, task, `${deployKey(job)}/verify`, { startedAt: this.now() } as TaskRun, 1, false, signal, {}, () => {}), 'task', {
      targetType: 'health_check', config: job.healthCheck as unknown as Record<string, unknown>,
    });
    return outcome.status === 'failed' ? `health check failed: ${outcome.error}` : undefined;
  }

  /** A rollback on an agent target: each app back to the given version, else to the one installed before. */
  private async rollbackOnAgent(job: TargetJob, round: number, toVersion: string | undefined, reason: string, signal: AbortSignal): Promise<void> {
    const { repo } = this.o;
    const key = `${targetKey(job)}/rollback-${round}`;
    const installed = { ...job, installations: await this.installationsOf(job) };
    const unit = job.units[0]!;
    const current = installed.installations[unit.app];
    const row = await this.rollbackRow(job, key, unit, toVersion ?? current?.previousVersion, current?.version, reason);
    let error: string | undefined;
    if (row.status === 'succeeded' || row.status === 'failed') {
      error = row.status === 'failed' ? (row.error ?? 'failed') : undefined;
    } else {
      const task: Task = { id: 'rollback', type: 'rollback', retry: 0, retryDelaySeconds: 0 };
      try {
        if (!this.o.agents) throw new Error(`no agent connection is configured for ${job.target.spec.type} target ${job.target.name}`);
        const outcome = await dispatchToApps(this.o.agents, this.context(installed, task, key, { startedAt: row.startedAt ?? this.now() } as TaskRun, 1, false, signal, {}, () => {}), 'rollback', {
          version: (app) => toVersion ?? installed.installations[app.app]?.previousVersion,
        });
        if (outcome.status === 'failed') error = outcome.error;
      } catch (e) {
        if (signal.aborted) throw new WorkCancelled('cancel');
        error = errorText(e);
      }
      const fresh = (await repo.getDeployment(row.id)) ?? row;
      await repo.updateDeployment(fresh.id, fresh.lockVersion, { status: error ? 'failed' : 'succeeded', finishedAt: this.now(), ...(error ? { error: this.o.mask(error) } : {}) });
      if (!error) {
        await this.markRolledBack(job, row.target);
        for (const u of job.units) {
          const back = toVersion ?? installed.installations[u.app]?.previousVersion;
          if (back) await this.recordInstallation(job, u.app, back, 'installed', installed.installations[u.app]?.version);
        }
      }
    }
    const masked = error === undefined ? undefined : this.o.mask(error);
    this.update(job, (w) => (w.rollback = { round, state: masked ? 'failed' : 'succeeded', ...(masked ? { error: masked } : {}) }));
  }

  // ----------------------------------------------------------------------------------------- rollback

  private async rollback(job: TargetJob, round: number, toVersion: string | undefined, reason: string, signal: AbortSignal): Promise<void> {
    const { repo, driver } = this.o;
    const key = `${targetKey(job)}/rollback-${round}`;
    this.update(job, (w) => (w.rollback = { round, state: 'running' }));
    if (isAgentTarget(job.target)) return this.rollbackOnAgent(job, round, toVersion, reason, signal);
    const observed = await driver.observe(job.target).catch(() => undefined);
    const unit = job.units[0]!;
    const row = await this.rollbackRow(job, key, unit, toVersion ?? observed?.version, observed?.version, reason);
    if (row.status === 'succeeded' || row.status === 'failed') {
      this.update(job, (w) => (w.rollback = { round, state: row.status === 'succeeded' ? 'succeeded' : 'failed', ...(row.status === 'failed' ? { error: row.error ?? 'failed' } : {}) }));
      return;
    }
    let error: string | undefined;
    try {
      // Undo without a version is not idempotent (a second undo flips back), so a resumed one only waits.
      const resumed = (row.startedAt?.getTime() ?? 0) < this.now().getTime() - 1000 && !toVersion;
      const cause = `shipway: rollback of release ${job.release.name}: ${this.o.mask(reason)}`.slice(0, 1000);
      if (job.mode === 'canary') {
        // The workload itself was never changed: removing the canary is the whole rollback.
        await driver.removeCanary(job.target);
      } else if (job.mode === 'blueGreen' && (await driver.abortBlueGreen(job.target)).changed) {
        // Routed back to the old colour, which kept running.
      } else {
        if (!resumed) await driver.rollback(job.target, { ...(toVersion ? { toVersion } : {}), cause });
        const state = await driver.waitForRollout(job.target, { signal, timeoutMs: this.o.rollbackTimeoutMs ?? 600_000 });
        if (state.state === 'failed') error = state.message;
        if (job.mode === 'promote' && !error) await driver.removeCanary(job.target);
      }
    } catch (e) {
      if (signal.aborted) throw new WorkCancelled('cancel');
      error = errorText(e);
    }
    const fresh = (await repo.getDeployment(row.id)) ?? row;
    await repo.updateDeployment(fresh.id, fresh.lockVersion, { status: error ? 'failed' : 'succeeded', finishedAt: this.now(), ...(error ? { error: this.o.mask(error) } : {}) });
    if (!error) {
      await this.markRolledBack(job, row.target);
      const version = (await driver.observe(job.target).catch(() => undefined))?.version;
      if (version) await this.recordInstallation(job, unit.app, version, 'installed');
    }
    const masked = error === undefined ? undefined : this.o.mask(error);
    this.update(job, (w) => (w.rollback = { round, state: masked ? 'failed' : 'succeeded', ...(masked ? { error: masked } : {}) }));
  }
}

/** Marks the agent-target branch inside code written for workloads. */
class AgentTarget extends Error {}

/** What a deployment row says about where and what, for deploys and rollbacks alike. */
function deploymentIdentity(job: TargetJob, unit: DeployUnit, dedupKey: string) {
  return {
    dedupKey,
    releaseId: job.release.releaseId,
    releaseAppId: unit.releaseAppId ?? null,
    app: unit.app,
    environment: job.environment,
    target: `${job.target.namespace}/${job.target.name}`,
    targetType: 'kubernetes' as const,
  };
}

export const targetKey = (job: TargetJob) => `${job.release.uid}/${job.environment}/${job.target.name}`;
/** `a1`, `a1-canary`, `a1-promote`: an in-workload canary and its promotion are two pieces of work. */
export const deployKey = (job: TargetJob) => `${targetKey(job)}/a${job.attempt}${job.mode === 'canary' || job.mode === 'promote' ? `-${job.mode}` : ''}`;

/** Whether a db_migrate task of the job's pipeline succeeded: the migration guard refuses rollbacks past it. */
function migratedIn(job: TargetJob, stages: StageResult[]): boolean {
  const migrations = new Set((job.pipeline?.stages ?? []).flatMap((s) => s.tasks).filter((t) => t.type === 'db_migrate').map((t) => t.id));
  return migrations.size > 0 && stages.some((s) => (s.tasks ?? []).some((t) => migrations.has(t.id) && t.status === 'succeeded'));
}

function stageResult(stage: StageRun, tasks: TaskRun[]): StageResult {
  return {
    name: stage.stage,
    phase: stage.phase,
    status: stage.status,
    tasks: tasks.map((t) => ({
      id: t.taskId,
      status: t.status,
      retryCount: t.retryCount,
      ...(t.outputTail ? { outputTail: t.outputTail.slice(-500) } : {}),
      ...(t.error ? { error: t.error.slice(0, 1000) } : {}),
      ...(t.startedAt ? { startedAt: iso(t.startedAt) } : {}),
      ...(t.finishedAt ? { finishedAt: iso(t.finishedAt) } : {}),
    })),
    ...(stage.startedAt ? { startedAt: iso(stage.startedAt) } : {}),
    ...(stage.finishedAt ? { finishedAt: iso(stage.finishedAt) } : {}),
  };
}

interface PipelineOutcome {
  failed: boolean;
  error?: string;
  wantsRollback?: boolean;
}

/** One target's pass through the pipeline; every stage and task is a history row found again on resume. */
class PipelineRun {
  private readonly stageRows = new Map<string, StageRun>();
  private readonly taskRows = new Map<string, Map<string, TaskRun>>();
  private readonly states = new Map<string, TaskState>();
  private readonly resultsById: Record<string, { status: string; output?: string }> = {};
  private readonly stages: StagePlan[];
  private current = 'starting';
  private readonly startedAt: Date;

  constructor(
    private readonly runner: TargetRunner,
    private readonly job: TargetJob,
    private readonly primary: Deployment,
    private readonly signal: AbortSignal,
  ) {
    const phases = PHASES_OF_MODE[job.mode];
    this.stages = targetStages(job.pipeline).filter((stage) => phases.includes(stage.phase));
    this.startedAt = runner.clock();
  }

  results(): StageResult[] {
    return this.stages
      .filter((s) => this.stageRows.has(s.name))
      .map((s) => stageResult(this.stageRows.get(s.name)!, [...(this.taskRows.get(s.name)?.values() ?? [])]));
  }

  private report() {
    this.runner.progress(this.job, this.current, this.results());
  }

  async run(): Promise<PipelineOutcome> {
    const { repo } = this.runner;
    const key = deployKey(this.job);
    for (const stage of this.stages) {
      let row = await repo.recordStageRun({
        dedupKey: `${key}/stage/${stage.name}`,
        deploymentId: this.primary.id,
        releaseId: this.job.release.releaseId,
        target: `${this.job.target.namespace}/${this.job.target.name}`,
        environment: this.job.environment,
        stage: stage.name,
        phase: stage.phase,
        status: 'running',
        attempt: this.job.attempt,
        startedAt: this.runner.clock(),
      });
      this.stageRows.set(stage.name, row);
      const tasks = new Map((await repo.listTaskRunsOfStageRun(row.id)).map((t) => [t.taskId, t]));
      this.taskRows.set(stage.name, tasks);
      for (const t of tasks.values()) {
        if (FINISHED.has(t.status)) {
          this.states.set(t.taskId, t.status === 'succeeded' ? 'succeeded' : t.status === 'skipped' ? 'skipped' : 'failed');
          this.resultsById[t.taskId] = { status: t.status, ...(t.outputTail ? { output: t.outputTail } : {}) };
        }
      }
      let failed = false;
      let error: string | undefined;
      if (!FINISHED.has(row.status)) {
        this.report();
        const outcome = await this.runStage(stage, row);
        failed = outcome.failed;
        error = outcome.error;
        const fresh = (await repo.getStageRun(row.id)) ?? row;
        row = await repo.updateStageRun(fresh.id, fresh.lockVersion, { status: failed ? 'failed' : 'succeeded', finishedAt: this.runner.clock(), ...(error ? { error } : {}) });
        this.stageRows.set(stage.name, row);
        this.report();
      } else {
        failed = row.status === 'failed';
        error = row.error ?? undefined;
      }
      if (failed && stage.onError !== 'continue') {
        return { failed: true, error: `stage ${stage.name}: ${error ?? 'failed'}`, wantsRollback: stage.onError === 'rollback' };
      }
    }
    return { failed: false };
  }

  private async runStage(stage: StagePlan, stageRow: StageRun): Promise<{ failed: boolean; error?: string }> {
    let firstError: string | undefined;
    for (let guard = 0; guard < 1000; guard++) {
      if (this.signal.aborted) throw new WorkCancelled('cancel');
      const next = nextTasks(stage, this.states);
      for (const { task, reason } of next.skip) await this.finishSkipped(stage, stageRow, task, reason);
      if (next.done || next.start.length === 0) {
        const failed = stage.tasks.some((t) => this.states.get(t.id) === 'failed');
        return { failed, ...(failed ? { error: firstError ?? this.firstTaskError(stage) } : {}) };
      }
      const outcomes = await Promise.all(next.start.map((task) => this.runTask(stage, stageRow, task)));
      for (const o of outcomes) {
        if (o.error && !firstError) firstError = o.error;
        if (o.skipRemaining) {
          for (const t of stage.tasks) if (!this.states.has(t.id)) await this.finishSkipped(stage, stageRow, t, `skipped by condition task ${o.id}`);
        }
      }
    }
    return { failed: true, error: 'stage did not settle' };
  }

  private firstTaskError(stage: StagePlan): string | undefined {
    for (const t of stage.tasks) {
      const row = this.taskRows.get(stage.name)?.get(t.id);
      if (row?.status === 'failed') return `task ${t.id}: ${row.error ?? 'failed'}`;
    }
    return undefined;
  }

  private async finishSkipped(stage: StagePlan, stageRow: StageRun, task: Task, reason: string) {
    const row = await this.record(stage, stageRow, task, 'skipped', reason);
    this.states.set(task.id, 'skipped');
    this.resultsById[task.id] = { status: 'skipped' };
    this.taskRows.get(stage.name)!.set(task.id, row);
  }

  private async record(stage: StagePlan, stageRow: StageRun, task: Task, status: 'running' | 'skipped', note?: string): Promise<TaskRun> {
    const now = this.runner.clock();
    return this.runner.repo.recordTaskRun({
      dedupKey: `${stageRow.dedupKey}/task/${task.id}`,
      stageRunId: stageRow.id,
      releaseId: this.job.release.releaseId,
      taskId: task.id,
      taskName: task.name ?? task.id,
      type: task.type,
      status,
      startedAt: now,
      ...(status === 'skipped' ? { finishedAt: now, outputTail: note ?? null } : {}),
    });
  }

  private async runTask(stage: StagePlan, stageRow: StageRun, task: Task): Promise<{ id: string; error?: string; skipRemaining?: boolean }> {
    const { repo } = this.runner;
    const mask = this.runner.masker;
    if (task.condition) {
      const result = evaluateCondition(task.condition, {
        variables: this.job.variables,
        results: this.resultsById,
        release: { namespace: this.job.release.namespace, name: this.job.release.name, uid: this.job.release.uid, project: this.job.release.project, version: this.job.release.version },
        environment: this.job.environment,
        target: { name: this.job.target.name, labels: this.job.target.labels },
      });
      if ('value' in result && !result.value) {
        await this.finishSkipped(stage, stageRow, task, `condition is false: ${task.condition}`);
        return { id: task.id };
      }
      if ('error' in result) return this.finish(stage, await this.record(stage, stageRow, task, 'running'), task, { status: 'failed', error: `condition: ${result.error}` }, 0);
    }
    let row = await this.record(stage, stageRow, task, 'running');
    this.taskRows.get(stage.name)!.set(task.id, row);
    if (FINISHED.has(row.status)) {
      this.states.set(task.id, row.status === 'succeeded' ? 'succeeded' : row.status === 'skipped' ? 'skipped' : 'failed');
      return { id: task.id };
    }
    this.states.set(task.id, 'running');
    const executor: TaskExecutor | undefined = this.runner.executorFor(this.job, task.type);
    const resumed = (row.startedAt?.getTime() ?? 0) < this.startedAt.getTime() - 1;
    if (!executor) return this.finish(stage, row, task, { status: 'failed', error: `no executor for task type ${task.type}` }, row.retryCount);
    if (resumed && executor.onRestart === 'at-most-once') {
      // It may have happened just before the restart; repeating it could do it twice.
      return this.finish(stage, row, task, { status: 'succeeded', output: 'not repeated after an operator restart (at most once); completion unconfirmed' }, row.retryCount);
    }
    let output = row.outputTail ?? '';
    const log = (line: string) => {
      output = tail(`${output}${mask(line)}\n`);
      this.current = `${stage.name}/${task.id}: ${mask(line)}`.slice(0, 250);
      this.report();
    };
    this.current = `${stage.name}/${task.id}`;
    this.report();
    for (let attempt = row.retryCount + 1; ; attempt++) {
      const signals = [this.signal];
      if (task.timeoutSeconds) signals.push(AbortSignal.timeout(task.timeoutSeconds * 1000));
      const signal = AbortSignal.any(signals);
      let outcome: TaskOutcome;
      try {
        outcome = await executor.run(this.runner.context(this.job, task, row.dedupKey, row, attempt, resumed && attempt === row.retryCount + 1, signal, { ...this.resultsById }, log));
      } catch (error) {
        if (this.signal.aborted) throw new WorkCancelled('cancel');
        outcome = signal.aborted ? { status: 'failed', error: `timed out after ${task.timeoutSeconds}s` } : { status: 'failed', error: errorText(error) };
      }
      if (outcome.status === 'failed' && outcome.retryable !== false && attempt <= (task.retry ?? 0) && !this.signal.aborted) {
        const fresh = (await repo.getTaskRun(row.id)) ?? row;
        row = await repo.updateTaskRun(fresh.id, fresh.lockVersion, { retryCount: attempt, error: mask(outcome.error).slice(0, 4000) });
        log(`attempt ${attempt} failed: ${outcome.error}; retrying in ${task.retryDelaySeconds ?? 10}s`);
        await sleep((task.retryDelaySeconds ?? 10) * 1000, this.signal);
        continue;
      }
      if (output && !outcome.output) outcome = { ...outcome, output };
      return this.finish(stage, row, task, outcome, attempt - 1);
    }
  }

  private async finish(stage: StagePlan, row: TaskRun, task: Task, outcome: TaskOutcome, retries: number): Promise<{ id: string; error?: string; skipRemaining?: boolean }> {
    const mask = this.runner.masker;
    const fresh = (await this.runner.repo.getTaskRun(row.id)) ?? row;
    const branchFail = outcome.status === 'succeeded' && outcome.branch === 'fail';
    const failed = outcome.status === 'failed' || branchFail;
    const error = outcome.status === 'failed' ? mask(outcome.error) : branchFail ? `condition task ${task.id} chose fail` : undefined;
    const updated = await this.runner.repo.updateTaskRun(fresh.id, fresh.lockVersion, {
      status: failed ? 'failed' : 'succeeded',
      retryCount: retries,
      finishedAt: this.runner.clock(),
      outputTail: outcome.output ? tail(mask(outcome.output)) : null,
      error: error ? error.slice(0, 4000) : null,
    });
    this.taskRows.get(stage.name)!.set(task.id, updated);
    this.states.set(task.id, failed ? 'failed' : 'succeeded');
    this.resultsById[task.id] = { status: failed ? 'failed' : 'succeeded', ...(outcome.output ? { output: mask(outcome.output) } : {}) };
    this.report();
    return { id: task.id, ...(error ? { error: `task ${task.id}: ${error}` } : {}), ...(outcome.status === 'succeeded' && outcome.branch === 'skip_remaining' ? { skipRemaining: true } : {}) };
  }
}
