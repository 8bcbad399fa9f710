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
import { labelSelectorFromObject } from '../planning/selectors.ts';
import { resolveEnvironment, type ResolvedEnvironment, type TargetObject } from '../planning/target-resolution.ts';
import { ManifestValidator } from '../validation/manifest-validator.ts';
import type { EventRecorder } from '../runtime/event-recorder.ts';
import type { Informer, KubeObject } from '../runtime/informer.ts';
import type { Approval, Release as ReleaseRow, Repository } from '../storage/index.ts';
import type { DeployUnit, TargetJob, TargetRunner } from '../engine/target-runner.ts';
import type { CustomObject, CustomResources } from './custom-resources.ts';
import { kubeTime } from '../api/kube-time.ts';

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
}


export class ReleaseController {
  private readonly validator = new ManifestValidator();
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
    const environments = spec.environments.map((env) => resolveEnvironment(env, targets));
    // Targets may be applied after the Release (GitOps order): until an environment has started, targets it
    // cannot find hold the release back with a condition instead of failing it.
    for (const env of environments) {
      if (env.error && !status.environments?.find((e) => e.name === env.name)?.targets?.length) problems.push(env.error);
    }
    const row = await repo.upsertRelease({
      uid, namespace, name: release.metadata.name, project: spec.project, version: spec.version, operation: spec.operation ?? 'deploy',
      spec: spec as unknown as Record<string, unknown>, createdBy: annotations['shipway.dev/created-by'] ?? null,
    });
    const approvalRows = await repo.listApprovalsOfRelease(row.id);
    const approvals = new Map<string, ApprovalDecision>();
    const prefix = `${uid}/approval/`;
    for (const a of approvalRows) {
      if (!a.dedupKey.startsWith(prefix)) continue;
      approvals.set(a.dedupKey.slice(prefix.length), a.status === 'pending' && a.expiresAt && a.expiresAt.getTime() <= now.getTime() ? 'expired' : a.status);
    }

    const parsed = parseAction(annotations);
    let action: ReleaseAction | undefined;
    let actionResult: MachineOutput['actionResult'];
    if (parsed && 'invalid' in parsed) {
      actionResult = { result: 'Rejected', message: parsed.invalid };
      action = parsed.raw;
    } else if (parsed && !alreadyApplied(parsed.action, status.lastAction)) {
      action = parsed.action;
      const decided = await this.decideTaskApprovals(parsed.action, status, approvalRows);
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
    });
    actionResult ??= out.actionResult;
    const next = out.status;

    // ---- act
    const apps = this.appsOf(release);
    const appRows = new Map<string, string>();
    for (const app of apps) {
      const appRow = await repo.recordReleaseApp({ uid: app.uid, releaseId: row.id, namespace, name: app.name, app: app.spec.app, version: app.spec.version });
      appRows.set(app.uid, appRow.id);
    }
    const jobs = new JobFactory(release, row, environments, this.pipelineOf(release), apps.map((a) => ({ ...a, rowId: appRows.get(a.uid) })), now);
    for (const effect of out.effects) await this.act(effect, release, row, jobs);
    if (action && actionResult) {
      await repo.recordAuditEvent({
        dedupKey: `${uid}/action/${release.metadata.resourceVersion}/${action.action}`,
        kind: 'Release', namespace, name: release.metadata.name, releaseId: row.id,
        action: action.action, actor: action.actor ?? null, comment: action.comment ?? null, target: action.target ?? null,
        details: { result: actionResult.result, message: actionResult.message },
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
    if (JSON.stringify(next) !== JSON.stringify(status)) current = await this.o.releases.patchStatus(release, next);
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

  private async act(effect: Effect, release: CustomObject, row: ReleaseRow, jobs: JobFactory): Promise<void> {
    const { runner, repo } = this.o;
    const uid = String(release.metadata.uid);
    switch (effect.kind) {
      case 'deploy': {
        const job = jobs.job(effect.environment, effect.target, effect.attempt, {
          stepIndex: effect.stepIndex, mode: effect.mode,
          ...(effect.canaryPercent !== undefined ? { canaryPercent: effect.canaryPercent } : {}),
          ...(effect.keepOldVersion !== undefined ? { keepOldVersion: effect.keepOldVersion } : {}),
        });
        if (job) runner.ensureDeploy(job);
        return;
      }
      case 'verify': {
        const job = jobs.job(effect.environment, effect.target, effect.attempt, { stepIndex: effect.stepIndex, mode: effect.mode });
        if (job) runner.ensureVerify(job);
        return;
      }
      case 'rollback': {
        const job = jobs.job(effect.environment, effect.target, effect.round, { stepIndex: 0, mode: effect.mode });
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
        await this.o.recorder.record(release, effect.type, effect.reason, effect.message);
        return;
    }
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
  constructor(
    private readonly release: CustomObject,
    private readonly row: ReleaseRow,
    private readonly environments: ResolvedEnvironment[],
    private readonly pipeline: PipelineSpec | undefined,
    private readonly apps: AppObject[],
    private readonly now: Date,
  ) {}

  job(environment: string, targetName: string, attempt: number, step: Pick<TargetJob, 'stepIndex' | 'mode' | 'canaryPercent' | 'keepOldVersion'>): TargetJob | undefined {
    const target = this.environments.find((e) => e.name === environment)?.targets.find((t) => t.name === targetName);
    if (!target) return undefined;
    const spec = this.release.spec as ReleaseSpec;
    const envSpec = spec.environments.find((e) => e.name === environment);
    const units = this.units(target);
    return {
      release: {
        uid: String(this.release.metadata.uid), namespace: String(this.release.metadata.namespace), name: String(this.release.metadata.name),
        project: spec.project, version: spec.version, releaseId: this.row.id, operation: spec.operation ?? 'deploy',
      },
      environment,
      target: { namespace: String(this.release.metadata.namespace), name: target.name, labels: target.labels, spec: target.spec },
      attempt,
      ...step,
      ...(this.pipeline ? { pipeline: this.pipeline } : {}),
      units,
      variables: this.variables(environment, target, units[0]!),
      ...(envSpec?.strategy?.canary?.healthCheck ? { healthCheck: envSpec.strategy.canary.healthCheck } : {}),
    };
  }

  /**
   * The apps deployed on a target: ReleaseApps whose target selection picks it (all of them when they name
   * none) and that ship an image. The first one sets the target's container; further ones set the
   * container named after the app. Without ReleaseApps, the release version becomes the image tag.
   */
  private units(target: TargetObject): DeployUnit[] {
    const spec = this.release.spec as ReleaseSpec;
    const chosen = this.apps.filter((a) => a.spec.artifact.image && selects(a.spec.targets, target));
    if (chosen.length === 0) return [{ app: spec.project, version: spec.version, images: [] }];
    return chosen.map((a, i) => ({
      app: a.spec.app,
      ...(a.rowId ? { releaseAppId: a.rowId } : {}),
      version: a.spec.version,
      images: [{ ...(i > 0 ? { container: a.spec.app } : {}), image: `${a.spec.artifact.image}:${a.spec.version}` }],
    }));
  }

  private variables(environment: string, target: TargetObject, unit: DeployUnit): Record<string, string> {
    const spec = this.release.spec as ReleaseSpec;
    const vars: Record<string, string> = {};
    for (const v of spec.variables ?? []) {
      // Secret, template and external variables come with the variables resolver (policy issue).
      if (v.type === 'plain' && v.value !== undefined) vars[v.name] = v.value;
      if (v.type === 'env_specific' && v.values?.[environment] !== undefined) vars[v.name] = v.values[environment]!;
    }
    const k8s = target.spec.kubernetes;
    return {
      ...vars,
      RELEASE_ID: String(this.release.metadata.uid),
      RELEASE_NAME: String(this.release.metadata.name),
      RELEASE_VERSION: spec.version,
      RELEASE_ENV: environment,
      RELEASE_USER: String(this.release.metadata.annotations?.['shipway.dev/created-by'] ?? ''),
      RELEASE_TIME: kubeTime(this.now),
      RELEASE_TIMESTAMP: String(Math.floor(this.now.getTime() / 1000)),
      APP_NAME: unit.app,
      APP_VERSION: unit.version,
      APP_ENV: environment,
      TARGET_ID: `${this.release.metadata.namespace}/${target.name}`,
      TARGET_NAME: target.name,
      TARGET_HOST: target.spec.host ?? '',
      TARGET_LABELS: Object.entries(target.labels).map(([k, v]) => `${k}=${v}`).join(','),
      ...(k8s ? { K8S_NAMESPACE: k8s.namespace, K8S_KIND: k8s.kind ?? 'Deployment', K8S_NAME: k8s.name, K8S_CONTAINER: k8s.container ?? '' } : {}),
      ...(unit.images[0] ? { IMAGE: unit.images[0].image } : {}),
    };
  }
}

function selects(selection: ReleaseAppSpec['targets'], target: TargetObject): boolean {
  if (!selection) return true;
  if (selection.names) return selection.names.includes(target.name);
  return labelSelectorFromObject(selection.selector)(target.labels);
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

