/**
 * Reconciles one Release: observe (the Release, its Targets, Pipeline and ReleaseApps, approvals and what
 * the target runner reports) → plan (the pure release machine) → act (runner requests, approvals,
 * history, events) → one status patch when something changed. Level-triggered: every pass starts from
 * what is stored, so a pass repeated after a crash or a conflict converges to the same place.
 */
import type { PipelineSpec } from '../api/pipeline.ts';
import type { ReleaseAppSpec } from '../api/release-app.ts';
import type { ReleaseSpec, ReleaseStatus } from '../api/release.ts';
import type { TargetSpec } from '../api/target.ts';
import { setCondition } from '../api/conditions.ts';
import { releaseAnalytics } from '../planning/release-analytics.ts';
import { ACTION_ANNOTATIONS, alreadyApplied, parseAction } from '../planning/release-actions.ts';
import { advance, isTerminal, type ApprovalDecision, type Effect, type MachineOutput, type ReleaseAction } from '../planning/release-machine.ts';
import { resolveEnvironment, selectsTarget as selects, type ResolvedEnvironment, type TargetObject } from '../planning/target-resolution.ts';
import { ManifestValidator } from '../validation/manifest-validator.ts';
import type { EventRecorder } from '../runtime/event-recorder.ts';
import type { Informer, KubeObject } from '../runtime/informer.ts';
import type { Approval, Release as ReleaseRow, Repository } from '../storage/index.ts';
import type { DeployUnit, TargetJob, TargetRunner } from '../engine/target-runner.ts';
import type { CustomObject, CustomResources } from './custom-resources.ts';
import { kubeTime } from '../api/kube-time.ts';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Notifications } from '../api/notifications.ts';
import { appGraphProblems, type AppDependencyNode } from '../planning/app-dependencies.ts';
import { effectiveNotifications } from '../planning/notification-plan.ts';
import { nextVersion } from '../planning/version-bump.ts';
import { builtInVariables } from '../planning/variable-resolver.ts';
import { isNotFound, apiErrorMessage } from '../kubernetes/api-errors.ts';
import type { ExternalValueProviders } from '../kubernetes/variable-sources.ts';
import type { SecretRegistry } from '../runtime/secret-registry.ts';
import { redeploy } from './release-redeploy.ts';
import { ReleaseNotifications } from './release-notifications.ts';
import { ReleaseVariables } from './release-variables.ts';

export const RELEASE_FINALIZER = 'shipway.dev/release-history';

export interface ReleaseControllerOptions {
  releases: CustomResources;
  targets: Informer;
  pipelines: Informer;
  releaseApps: Informer;
  /** For retention: the finished Releases of a namespace. */
  releaseCache?: Informer;
  repo: Repository;
  runner: TargetRunner;
  recorder: EventRecorder;
  requeueAfter: (key: string, ms: number) => void;
  /** Finished Releases kept per namespace; older ones are deleted (their history stays in the database). */
  keepFinished?: number;
  now?: () => Date;
  log?: (message: string) => void;
  /** Core API for Secrets and ConfigMaps (variables, approver groups). */
  core: CoreV1Api;
  /** ReleaseApps, to create the copies of a redeploy rollback. */
  releaseAppResources: CustomResources;
  secrets: SecretRegistry;
  notifications?: ReleaseNotifications;
  variableProviders?: ExternalValueProviders;
  /** The operator runs an agent endpoint: docker, script and gitpull targets can be served. */
  agentsServed?: boolean;
}

/** Approver groups: a ConfigMap of this name in the release's namespace, group → users (comma or space separated). */
export const APPROVER_GROUPS_CONFIGMAP = 'shipway-groups';


export class ReleaseController {
  private readonly validator = new ManifestValidator();
  /** Notifications asked for whose variables did not resolve yet, by release uid. */
  private readonly deferred = new Map<string, Extract<Effect, { kind: 'notify' }>[]>();
  private readonly now: () => Date;

  constructor(private readonly o: ReleaseControllerOptions) {
    this.now = o.now ?? (() => new Date());
  }

  async reconcile(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const release = await this.o.releases.get(namespace, name);
    if (!release) return;
    const uid = String(release.metadata.uid);
    if (release.metadata.deletionTimestamp) {
      this.o.runner.forget(uid);
      this.o.secrets.forget(uid);
      this.deferred.delete(uid);
      const finalizers: string[] = release.metadata.finalizers ?? [];
      if (finalizers.includes(RELEASE_FINALIZER)) await this.o.releases.patchMetadata(release, { finalizers: finalizers.filter((f) => f !== RELEASE_FINALIZER) });
      return;
    }
    if (!(release.metadata.finalizers ?? []).includes(RELEASE_FINALIZER)) {
      // Deleting a running Release must stop its work first; the finalizer holds the object until then.
      await this.o.releases.patchMetadata(release, { finalizers: [...(release.metadata.finalizers ?? []), RELEASE_FINALIZER] });
      return;
    }
    await this.converge(release);
  }

  private async converge(release: CustomObject): Promise<void> {
    const { repo, runner } = this.o;
    const now = this.now();
    const spec = release.spec as ReleaseSpec;
    const status: ReleaseStatus = release.status ?? {};
    const uid = String(release.metadata.uid);
    const namespace = String(release.metadata.namespace);
    const annotations: Record<string, string> = release.metadata.annotations ?? {};

    // ---- observe
    const problems = this.problems(release);
    const targets = this.targetsIn(namespace);
    const environments = spec.environments.map((env) => resolveEnvironment(env, targets, { agentsServed: this.o.agentsServed ?? false }));
    // Targets may be applied after the Release (GitOps order): until an environment has started, targets it
    // cannot find hold the release back with a condition instead of failing it.
    for (const env of environments) {
      if (env.error && !status.environments?.find((e) => e.name === env.name)?.targets?.length) problems.push(env.error);
    }
    const apps = this.appsOf(release);
    const graph = appGraph(apps, targets);
    problems.push(...appGraphProblems(graph.nodes, String(release.metadata.name)));
    const { row, version } = await this.releaseRow(release, status);
    const approvalRows = await repo.listApprovalsOfRelease(row.id);
    const approvals = new Map<string, ApprovalDecision>();
    const prefix = `${uid}/approval/`;
    for (const a of approvalRows) {
      if (!a.dedupKey.startsWith(prefix)) continue;
      const expired = a.status === 'pending' && a.expiresAt && a.expiresAt.getTime() <= now.getTime();
      // History says so too (the row would otherwise stay pending for ever); a decision that won the race stays.
      if (expired) await repo.decideApproval(a.id, a.lockVersion, { status: 'expired', decidedAt: a.expiresAt! }).catch((e) => this.o.log?.(`approval ${a.dedupKey}: ${e instanceof Error ? e.message : String(e)}`));
      approvals.set(a.dedupKey.slice(prefix.length), expired ? 'expired' : a.status);
    }

    const parsed = parseAction(annotations);
    let action: ReleaseAction | undefined;
    let actionResult: MachineOutput['actionResult'];
    let groupMembers: Map<string, string[]> | undefined;
    if (parsed && 'invalid' in parsed) {
      actionResult = { result: 'Rejected', message: parsed.invalid };
      action = parsed.raw;
    } else if (parsed && !alreadyApplied(parsed.action, status.lastAction)) {
      action = parsed.action;
      if (action.action === 'approve' || action.action === 'reject') groupMembers = await this.groupMembers(namespace);
      const decided = action.rollbackKind === 'redeploy'
        ? await redeploy({ releases: this.o.releases, releaseApps: this.o.releaseAppResources, repo }, release, apps, action)
        : await this.decideTaskApprovals(parsed.action, status, approvalRows);
      if (decided) actionResult = decided;
    }

    // ---- plan
    const out = advance({
      now,
      spec,
      status,
      problems,
      environments: environments.map((e) => ({ name: e.name, targets: e.targets.map((t) => ({ name: t.name, labels: t.labels, priority: t.spec.priority })), ...(e.error ? { error: e.error } : {}) })),
      work: runner.report(uid),
      approvals,
      ...(action && !actionResult ? { action } : {}),
      ...(release.metadata.creationTimestamp ? { createdAt: new Date(release.metadata.creationTimestamp) } : {}),
      version,
      ...(groupMembers ? { groupMembers } : {}),
      ...(graph.nodes.some((n) => n.dependsOn.length > 0) ? { apps: graph } : {}),
    });
    actionResult ??= out.actionResult;
    const next = out.status;

    // ---- act
    // The version in effect is the history's: spec.version when the app was first seen, then whatever a
    // version switch (ReleaseAppController) moved it to — a spec change waits for the switch's guard.
    const appRows = new Map<string, { id: string; version: string }>();
    for (const app of apps) {
      const appRow = await repo.recordReleaseApp({ uid: app.uid, releaseId: row.id, namespace, name: app.name, app: app.spec.app, version: app.spec.version });
      appRows.set(app.uid, { id: appRow.id, version: appRow.version });
    }
    const variables = new ReleaseVariables(namespace, uid, spec, { core: this.o.core, secrets: this.o.secrets, ...(this.o.variableProviders ? { providers: this.o.variableProviders } : {}) });
    const pipeline = this.pipelineOf(release);
    const jobs = new JobFactory(release, row, next, environments, pipeline, apps.map((a) => ({ ...a, spec: { ...a.spec, version: appRows.get(a.uid)?.version ?? a.spec.version }, rowId: appRows.get(a.uid)?.id })), now, variables);
    const notifications = effectiveNotifications(pipeline?.notifications, spec.notifications);
    const deferred = (this.deferred.get(uid) ?? []).filter((d) => !out.effects.some((e) => e.kind === 'notify' && e.key === d.key));
    for (const effect of [...out.effects, ...deferred]) await this.act(effect, release, row, jobs, notifications);
    if (jobs.problems.length > 0) {
      // The work waits for the variables (a missing Secret, a template cycle); the condition says why.
      problems.push(...jobs.problems);
      this.o.requeueAfter(`${namespace}/${release.metadata.name}`, 10_000);
    }
    const mask = this.o.secrets.masker();
    if (action && actionResult) {
      await repo.recordAuditEvent({
        dedupKey: `${uid}/action/${release.metadata.resourceVersion}/${action.action}`,
        kind: 'Release', namespace, name: release.metadata.name, releaseId: row.id,
        action: action.action, actor: action.actor ?? null, comment: action.comment ? mask(action.comment) : null, target: action.target ?? null,
        details: {
          result: actionResult.result, message: mask(actionResult.message),
          ...(action.emergency ? { emergency: true } : {}), ...(action.force ? { force: true } : {}),
          ...(action.rollbackKind ? { rollbackKind: action.rollbackKind } : {}), ...(action.rollbackVersion ? { rollbackVersion: action.rollbackVersion } : {}),
        },
      });
      next.lastAction = { action: action.action, ...(action.actor ? { actor: action.actor } : {}), ...(action.target ? { target: action.target } : {}), result: actionResult.result, message: actionResult.message.slice(0, 4096), at: kubeTime(now), acknowledged: false };
      if (actionResult.result === 'Rejected') await this.o.recorder.record(release, 'Warning', 'ActionRejected', `${action.action}: ${actionResult.message}`);
    } else if (next.lastAction && !next.lastAction.acknowledged && !parsed) {
      next.lastAction = { ...next.lastAction, acknowledged: true };
    }

    next.observedGeneration = release.metadata.generation;
    next.analytics = releaseAnalytics(next, environments.reduce((n, e) => n + e.targets.length, 0), now);
    next.conditions = conditions(next, problems, release.metadata.generation, now);

    // ---- write
    let current = release;
    const masked = mask.size > 0 ? mask.deep(next) : next;
    if (JSON.stringify(masked) !== JSON.stringify(status)) current = await this.o.releases.patchStatus(release, masked);
    if (parsed && (actionResult || ('action' in parsed && alreadyApplied(parsed.action, next.lastAction)))) {
      await this.o.releases.patchMetadata(current, { annotations: Object.fromEntries(ACTION_ANNOTATIONS.filter((a) => a in annotations).map((a) => [a, null])) });
    }
    await this.recordPhase(row, next);
    if (isTerminal(next.phase) && !isTerminal(status.phase)) await this.retain(namespace, { ...current, status: next });
    if (out.requeueAfterMs !== undefined) this.o.requeueAfter(`${namespace}/${release.metadata.name}`, out.requeueAfterMs);
  }

  /** An approve/reject with no environment or step gate open decides the release's pending approval tasks. */
  private async decideTaskApprovals(action: ReleaseAction, status: ReleaseStatus, rows: Approval[]): Promise<MachineOutput['actionResult'] | undefined> {
    if (action.action !== 'approve' && action.action !== 'reject') return undefined;
    if ((status.environments ?? []).some((e) => e.phase === 'Approving')) return undefined;
    const pending = rows.filter((a) => a.status === 'pending' && a.dedupKey.includes('/task/'));
    if (pending.length === 0) return undefined;
    for (const a of pending) {
      const approvers = a.approvers ?? [];
      if (approvers.length > 0 && (!action.actor || !approvers.includes(action.actor))) {
        return { result: 'Rejected', message: `${action.actor ?? 'an anonymous actor'} is not among the approvers of the pending approval task` };
      }
      await this.o.repo.decideApproval(a.id, a.lockVersion, { status: action.action === 'approve' ? 'approved' : 'rejected', decidedBy: action.actor ?? null, comment: action.comment ?? null });
    }
    return { result: 'Applied', message: `${action.action === 'approve' ? 'approved' : 'rejected'}${action.actor ? ` by ${action.actor}` : ''}: ${pending.length} pending approval task(s)` };
  }

  private async act(effect: Effect, release: CustomObject, row: ReleaseRow, jobs: JobFactory, notifications: Notifications): Promise<void> {
    const { runner, repo } = this.o;
    const uid = String(release.metadata.uid);
    // Work the runner is already doing needs no new job (building one resolves variables: Kubernetes reads).
    if ((effect.kind === 'deploy' || effect.kind === 'verify') && runner.busy(uid, effect.environment, effect.target, effect.kind, effect.attempt, effect.stepIndex)) return;
    switch (effect.kind) {
      case 'deploy': {
        const job = await jobs.job(effect.environment, effect.target, effect.attempt, {
          stepIndex: effect.stepIndex, mode: effect.mode,
          ...(effect.canaryPercent !== undefined ? { canaryPercent: effect.canaryPercent } : {}),
          ...(effect.keepOldVersion !== undefined ? { keepOldVersion: effect.keepOldVersion } : {}),
        });
        if (job) runner.ensureDeploy(job);
        return;
      }
      case 'verify': {
        const job = await jobs.job(effect.environment, effect.target, effect.attempt, { stepIndex: effect.stepIndex, mode: effect.mode });
        if (job) runner.ensureVerify(job);
        return;
      }
      case 'rollback': {
        const job = await jobs.job(effect.environment, effect.target, effect.round, { stepIndex: 0, mode: effect.mode });
        if (job) runner.ensureRollback(job, effect.round, effect.toVersion, effect.reason);
        return;
      }
      case 'cancelRunning':
        runner.cancel(uid);
        return;
      case 'requestApproval': {
        const approval = await repo.recordApproval({
          dedupKey: `${uid}/approval/${effect.key}`, releaseId: row.id, environment: effect.environment, step: effect.step ?? null,
          status: 'pending', approvers: effect.approvers, expiresAt: effect.expiresAt ? new Date(effect.expiresAt) : null,
        });
        // Nothing else happens when an approval expires: look again then.
        if (approval.status === 'pending' && approval.expiresAt) {
          this.o.requeueAfter(`${release.metadata.namespace}/${release.metadata.name}`, Math.max(0, approval.expiresAt.getTime() - this.now().getTime()) + 100);
        }
        return;
      }
      case 'decideApproval': {
        const approval = await repo.recordApproval({
          dedupKey: `${uid}/approval/${effect.key}`, releaseId: row.id, environment: effect.environment, step: effect.step ?? null, status: 'pending', approvers: [],
        });
        if (approval.status === 'pending') {
          await repo.decideApproval(approval.id, approval.lockVersion, { status: effect.approved ? 'approved' : 'rejected', decidedBy: effect.actor ?? null, comment: effect.comment ?? null });
        }
        return;
      }
      case 'event':
        await this.o.recorder.record(release, effect.type, effect.reason, this.o.secrets.masker()(effect.message));
        return;
      case 'notify': {
        if (!this.o.notifications || !ReleaseNotifications.wanted(notifications, effect)) return;
        const resolved = await jobs.releaseVariables(effect.environment);
        if (resolved.problems.length > 0) {
          // The machine asks for a notification once: keep it until its variables resolve (a Secret applied
          // after the Release), instead of sending it without its tokens. Kept in memory only.
          const deferred = this.deferred.get(uid) ?? [];
          if (!deferred.some((d) => d.key === effect.key)) this.deferred.set(uid, [...deferred, effect]);
          for (const p of resolved.problems) if (!jobs.problems.includes(p)) jobs.problems.push(p);
          return;
        }
        this.deferred.set(uid, (this.deferred.get(uid) ?? []).filter((d) => d.key !== effect.key));
        const problems = await this.o.notifications.dispatch(effect, {
          uid, namespace: String(release.metadata.namespace), name: String(release.metadata.name), project: (release.spec as ReleaseSpec).project,
          version: resolved.variables.RELEASE_VERSION ?? (release.spec as ReleaseSpec).version, releaseId: row.id, config: notifications,
          ...(resolved.durationSeconds !== undefined ? { durationSeconds: resolved.durationSeconds } : {}),
          variables: { ...resolved.variables, ...(effect.message ? { ERROR_MESSAGE: effect.message } : {}), ...(effect.approvers ? { APPROVERS: effect.approvers.join(', ') } : {}) },
          groupMembers: () => this.groupMembers(String(release.metadata.namespace)),
        });
        // A policy mistake shows where people look (kubectl describe), not only in the operator's log.
        for (const problem of problems) await this.o.recorder.record(release, 'Warning', 'NotificationProblem', this.o.secrets.masker()(`${effect.event}: ${problem}`));
        return;
      }
    }
  }

  /**
   * The release's history row, with its version: `auto` takes the next semver after the project's releases
   * in the history, chosen once (the status keeps it) and one release of a project at a time.
   */
  private async releaseRow(release: CustomObject, status: ReleaseStatus): Promise<{ row: ReleaseRow; version: string }> {
    const spec = release.spec as ReleaseSpec;
    const annotations: Record<string, string> = release.metadata.annotations ?? {};
    const record = (version: string) => this.o.repo.upsertRelease({
      uid: String(release.metadata.uid), namespace: String(release.metadata.namespace), name: release.metadata.name, project: spec.project, version,
      operation: spec.operation ?? 'deploy', spec: spec as unknown as Record<string, unknown>, createdBy: annotations['shipway.dev/created-by'] ?? null,
    });
    if (spec.version !== 'auto') return { row: await record(spec.version), version: spec.version };
    if (status.version && status.version !== 'auto') return { row: await record(status.version), version: status.version };
    return projectLock(spec.project, async () => {
      const known = (await this.o.repo.getReleaseByUid(String(release.metadata.uid)));
      if (known && known.version !== 'auto') return { row: known, version: known.version };
      const others = (await this.o.repo.listReleasesOfProject(spec.project)).filter((r) => r.uid !== release.metadata.uid).map((r) => r.version);
      const version = nextVersion(others, spec.bump ?? 'patch');
      return { row: await record(version), version };
    });
  }

  private async groupMembers(namespace: string): Promise<Map<string, string[]>> {
    const members = new Map<string, string[]>();
    try {
      const map = await this.o.core.readNamespacedConfigMap({ name: APPROVER_GROUPS_CONFIGMAP, namespace });
      for (const [group, users] of Object.entries(map.data ?? {})) members.set(group, users.split(/[\s,]+/).filter(Boolean));
    } catch (error) {
      if (!isNotFound(error)) this.o.log?.(`approver groups ${namespace}/${APPROVER_GROUPS_CONFIGMAP}: ${apiErrorMessage(error)}`);
    }
    return members;
  }

  /** The releases row follows the status; a concurrent writer only means the next pass writes it. */
  private async recordPhase(row: ReleaseRow, status: ReleaseStatus) {
    const phase = status.phase ?? 'Pending';
    const finishedAt = status.finishedAt ? new Date(status.finishedAt) : null;
    const startedAt = status.startedAt ? new Date(status.startedAt) : null;
    if (row.phase === phase && row.currentEnvironment === (status.currentEnvironment ?? null) && (row.finishedAt?.getTime() ?? null) === (finishedAt?.getTime() ?? null)) return;
    await this.o.repo.updateRelease(row.id, row.lockVersion, {
      phase, currentEnvironment: status.currentEnvironment ?? null, startedAt, finishedAt,
      analytics: (status.analytics ?? null) as Record<string, unknown> | null,
    }).catch((error) => this.o.log?.(`release row ${row.name}: ${error instanceof Error ? error.message : String(error)}`));
  }

  /** Keeps the newest `keepFinished` finished Releases of a namespace. */
  private async retain(namespace: string, justFinished: CustomObject) {
    const keep = this.o.keepFinished;
    if (keep === undefined) return;
    const finished = this.o.releases;
    // The cache may not show the status written a moment ago yet.
    const cached = (await this.listReleases(namespace)).filter((r) => r.metadata.uid !== justFinished.metadata.uid);
    const list = [...cached, justFinished].filter((r) => isTerminal(r.status?.phase) && r.status?.finishedAt && !r.metadata.deletionTimestamp);
    list.sort((a, b) => Date.parse(b.status.finishedAt) - Date.parse(a.status.finishedAt) || String(b.metadata.name).localeCompare(String(a.metadata.name)));
    for (const old of list.slice(keep)) {
      this.o.log?.(`retention: deleting finished Release ${namespace}/${old.metadata.name} (history stays in the database)`);
      await finished.delete(namespace, String(old.metadata.name));
    }
  }

  private async listReleases(namespace: string): Promise<CustomObject[]> {
    return (this.o.releaseCache?.list() ?? []).filter((r) => r.metadata?.namespace === namespace) as unknown as CustomObject[];
  }

  private problems(release: CustomObject): string[] {
    const problems: string[] = [];
    const result = this.validator.validate(release);
    for (const issue of result.issues) problems.push(`${issue.path}: ${issue.message}`);
    const ref = (release.spec as ReleaseSpec).pipelineRef?.name;
    if (ref && !this.o.pipelines.get(release.metadata.namespace, ref)) problems.push(`pipeline "${ref}" not found in namespace ${release.metadata.namespace}`);
    return problems;
  }

  private targetsIn(namespace: string): TargetObject[] {
    return this.o.targets
      .list()
      .filter((t) => t.metadata?.namespace === namespace && !t.metadata?.deletionTimestamp)
      .map((t) => ({ name: t.metadata!.name!, labels: (t.metadata?.labels ?? {}) as Record<string, string>, spec: (t as KubeObject & { spec: TargetSpec }).spec }));
  }

  private pipelineOf(release: CustomObject): PipelineSpec | undefined {
    const ref = (release.spec as ReleaseSpec).pipelineRef?.name;
    return ref ? ((this.o.pipelines.get(release.metadata.namespace, ref) as (KubeObject & { spec: PipelineSpec }) | undefined)?.spec) : undefined;
  }

  private appsOf(release: CustomObject): AppObject[] {
    return this.o.releaseApps
      .list()
      .filter((a) => a.metadata?.namespace === release.metadata.namespace && (a as KubeObject & { spec: ReleaseAppSpec }).spec?.release === release.metadata.name)
      .map((a) => ({ uid: String(a.metadata!.uid), name: a.metadata!.name!, spec: (a as KubeObject & { spec: ReleaseAppSpec }).spec }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }
}

interface AppObject {
  uid: string;
  name: string;
  spec: ReleaseAppSpec;
  rowId?: string;
}

/** Builds what the runner needs for one target from what this pass observed. */
class JobFactory {
  /** Why work could not start this pass (variables that do not resolve). */
  readonly problems: string[] = [];

  constructor(
    private readonly release: CustomObject,
    private readonly row: ReleaseRow,
    private readonly status: ReleaseStatus,
    private readonly environments: ResolvedEnvironment[],
    private readonly pipeline: PipelineSpec | undefined,
    private readonly apps: AppObject[],
    private readonly now: Date,
    private readonly variables: ReleaseVariables,
  ) {}

  private get version() {
    return this.status.version ?? (this.release.spec as ReleaseSpec).version;
  }

  async job(environment: string, targetName: string, attempt: number, step: Pick<TargetJob, 'stepIndex' | 'mode' | 'canaryPercent' | 'keepOldVersion'>): Promise<TargetJob | undefined> {
    const target = this.environments.find((e) => e.name === environment)?.targets.find((t) => t.name === targetName);
    if (!target) return undefined;
    const spec = this.release.spec as ReleaseSpec;
    const envSpec = spec.environments.find((e) => e.name === environment);
    const units = this.units(target);
    const resolved = await this.variables.resolve(environment, this.builtIn(environment, target, units[0]!));
    if (resolved.problems.length > 0) {
      for (const p of resolved.problems) if (!this.problems.includes(p)) this.problems.push(p);
      return undefined;
    }
    const notifications = effectiveNotifications(this.pipeline?.notifications, spec.notifications);
    return {
      release: {
        uid: String(this.release.metadata.uid), namespace: String(this.release.metadata.namespace), name: String(this.release.metadata.name),
        project: spec.project, version: this.version, releaseId: this.row.id, operation: spec.operation ?? 'deploy',
      },
      environment,
      target: { namespace: String(this.release.metadata.namespace), name: target.name, labels: target.labels, spec: target.spec },
      attempt,
      ...step,
      ...(this.pipeline ? { pipeline: this.pipeline } : {}),
      units,
      variables: resolved.values,
      ...(notifications.channels?.length ? { notifications } : {}),
      ...(envSpec?.strategy?.canary?.healthCheck ? { healthCheck: envSpec.strategy.canary.healthCheck } : {}),
    };
  }

  /** The variables of the release as a whole (notifications): no target, the environment when there is one. */
  async releaseVariables(environment: string | undefined): Promise<{ variables: Record<string, string>; problems: string[]; durationSeconds?: number }> {
    const env = environment ?? (this.release.spec as ReleaseSpec).environments[0]!.name;
    const resolved = await this.variables.resolve(env, this.builtIn(env));
    const start = this.status.startedAt ? Date.parse(this.status.startedAt) : NaN;
    const end = this.status.finishedAt ? Date.parse(this.status.finishedAt) : this.now.getTime();
    return { variables: resolved.values, problems: resolved.problems, ...(Number.isFinite(start) ? { durationSeconds: Math.max(0, Math.round((end - start) / 1000)) } : {}) };
  }

  /**
   * The apps deployed on a target: ReleaseApps whose target selection picks it (all of them when they name
   * none) and that ship an image. The first one sets the target's container; further ones set the
   * container named after the app. Without ReleaseApps, the release version becomes the image tag.
   */
  private units(target: TargetObject): DeployUnit[] {
    const spec = this.release.spec as ReleaseSpec;
    if (target.spec.type !== 'kubernetes') {
      // An agent deploys every app whose target selection picks its host, whatever the artifact.
      const apps = this.apps.filter((a) => selects(a.spec.targets, target));
      if (apps.length === 0) return [{ app: spec.project, version: this.version, images: [] }];
      return apps.map((a) => ({
        app: a.spec.app, ...(a.rowId ? { releaseAppId: a.rowId } : {}), version: a.spec.version, images: [],
        agent: { app: a.spec.app, version: a.spec.version, artifact: a.spec.artifact, ...(a.spec.docker ? { docker: a.spec.docker } : {}), ...(a.spec.script ? { script: a.spec.script } : {}), ...(a.spec.gitpull ? { gitpull: a.spec.gitpull } : {}) },
      }));
    }
    const chosen = this.apps.filter((a) => a.spec.artifact.image && selects(a.spec.targets, target));
    if (chosen.length === 0) return [{ app: spec.project, version: this.version, images: [] }];
    return chosen.map((a, i) => ({
      app: a.spec.app,
      ...(a.rowId ? { releaseAppId: a.rowId } : {}),
      version: a.spec.version,
      images: [{ ...(i > 0 ? { container: a.spec.app } : {}), image: `${a.spec.artifact.image}:${a.spec.version}` }],
    }));
  }

  private builtIn(environment: string, target?: TargetObject, unit?: DeployUnit): { system: Record<string, string>; runtime: Record<string, string> } {
    const spec = this.release.spec as ReleaseSpec;
    const app = unit ? this.apps.find((a) => a.spec.app === unit.app) : undefined;
    return builtInVariables({
      release: {
        uid: String(this.release.metadata.uid), namespace: String(this.release.metadata.namespace), name: String(this.release.metadata.name),
        project: spec.project, version: this.version, time: this.now,
        ...(this.release.metadata.annotations?.['shipway.dev/created-by'] ? { user: String(this.release.metadata.annotations['shipway.dev/created-by']) } : {}),
      },
      environment,
      ...(target ? { target: { name: target.name, labels: target.labels, spec: target.spec } } : {}),
      ...(unit ? {
        app: {
          name: unit.app, version: unit.version,
          ...(unit.images[0] ? { image: unit.images[0].image } : {}),
          ...(app?.spec.artifact.package ? { artifactUrl: app.spec.artifact.package.url } : {}),
          ...(app?.spec.artifact.git ? { git: { repo: app.spec.artifact.git.repo } } : {}),
          ...(keepData(app?.spec) !== undefined ? { keepData: keepData(app?.spec) } : {}),
        },
      } : {}),
    });
  }
}

/** What an uninstall does with the app's data, from the settings of its target type (KEEP_DATA). */
function keepData(spec: ReleaseAppSpec | undefined): boolean | undefined {
  return spec?.docker?.keepData ?? spec?.script?.keepData ?? spec?.gitpull?.keepData;
}

/** The ReleaseApps' dependency graph, and which apps each target hosts (by the apps' target selection). */
function appGraph(apps: AppObject[], targets: TargetObject[]): { nodes: AppDependencyNode[]; targetApps: Map<string, string[]> } {
  const nodes = apps.map((a) => ({
    app: a.spec.app,
    dependsOn: (a.spec.dependsOn ?? []).map((d) => ({ app: d.app, required: d.required ?? true, waitReady: d.waitReady ?? true, timeoutSeconds: d.timeoutSeconds ?? 300 })),
  }));
  const targetApps = new Map(targets.map((t) => [t.name, apps.filter((a) => selects(a.spec.targets, t)).map((a) => a.spec.app)]));
  return { nodes, targetApps };
}

const projectLocks = new Map<string, Promise<unknown>>();
/** One `auto` version choice per project at a time, so two releases of a project never get the same one. */
function projectLock<T>(project: string, work: () => Promise<T>): Promise<T> {
  const previous = projectLocks.get(project) ?? Promise.resolve();
  const next = previous.then(work, work);
  const tail = next.catch(() => undefined);
  projectLocks.set(project, tail);
  void tail.then(() => { if (projectLocks.get(project) === tail) projectLocks.delete(project); });
  return next;
}

function conditions(status: ReleaseStatus, problems: string[], generation: number, now: Date) {
  let list = status.conditions ?? [];
  const phase = status.phase ?? 'Pending';
  const message = status.message ?? phase;
  const set = (type: string, s: 'True' | 'False', reason: string, msg: string) => (list = setCondition(list, { type, status: s, reason, message: msg.slice(0, 32768), observedGeneration: generation }, now));
  if (problems.length > 0) {
    set('Ready', 'False', 'InvalidSpec', problems.join('; '));
    set('Stalled', 'True', 'InvalidSpec', problems.join('; '));
    set('Progressing', 'False', 'InvalidSpec', 'the release cannot start until the problems are fixed');
    return list;
  }
  set('Stalled', 'False', 'Valid', 'the release is valid');
  set('Ready', phase === 'Succeeded' ? 'True' : 'False', phase, message);
  set('Progressing', isTerminal(phase) || phase === 'Paused' ? 'False' : 'True', phase, message);
  set('Failed', phase === 'Failed' || phase === 'RolledBack' ? 'True' : 'False', phase === 'Failed' || phase === 'RolledBack' ? phase : 'NoFailure', phase === 'Failed' || phase === 'RolledBack' ? message : 'no failure');
  return list;
}

