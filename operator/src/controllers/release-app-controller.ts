/**
 * ReleaseApps follow their Release: the phase comes from the Release's phase, the version per environment
 * and the recent deployments from history (the full list stays in the database).
 *
 * This is also where an app's version moves during a release (SPEC "New image tags from CI"): the tag CI
 * reported (annotations `shipway.dev/new-tag`, `shipway.dev/build`) is shown in status, and a
 * `switch-version` action or a change of `spec.version` switches the version in effect — the history's, which
 * the Release's engine deploys — when `planVersionSwitch` allows it. `spec` is never written: Argo CD owns it.
 */
import { setCondition } from '../api/conditions.ts';
import type { ReleaseAppSpec, ReleaseAppStatus } from '../api/release-app.ts';
import { selectsTarget } from '../planning/target-resolution.ts';
import type { ReleaseStatus } from '../api/release.ts';
import type { Informer } from '../runtime/informer.ts';
import type { Repository } from '../storage/index.ts';
import type { CustomResources } from './custom-resources.ts';
import { kubeTime } from '../api/kube-time.ts';
import { BUILD_ANNOTATION, NEW_TAG_ANNOTATION } from '../api/build-notify.ts';
import { PATTERNS } from '../api/patterns.ts';
import { ACTION_ANNOTATION, ACTOR_ANNOTATION, COMMENT_ANNOTATION } from '../planning/release-actions.ts';
import { isVersionRef, planVersionSwitch, SWITCH_VERSION_ACTION, VERSION_ANNOTATION, type VersionSwitchPlan } from '../planning/version-switch.ts';
import { OptimisticLockError } from '../storage/index.ts';
import { isTerminal } from '../planning/release-machine.ts';
import type { Deployment, ReleaseApp } from '../storage/schema.ts';
import { TransientError } from '../runtime/errors.ts';
import { SwitchConflict, switchReleaseAppVersion } from './version-switcher.ts';

/** Kept on every ReleaseApp by the operator (metadata only: spec stays the user's). */
export const APP_LABEL = 'shipway.dev/app';
/** "true" while the parent Release is still active (not finished). */
export const ACTIVE_LABEL = 'shipway.dev/active';
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** What a ReleaseApp action consists of; removed together once the action is answered. */
const APP_ACTION_ANNOTATIONS = [ACTION_ANNOTATION, VERSION_ANNOTATION, ACTOR_ANNOTATION, COMMENT_ANNOTATION] as const;

const RECENT = 20;
const iso = (d: Date | null | undefined) => (d ? kubeTime(d) : undefined);

type AppPhase = NonNullable<ReleaseAppStatus['phase']>;
const PHASE_OF_RELEASE: Record<string, AppPhase> = {
  Pending: 'Pending', Scheduled: 'Waiting', Waiting: 'Waiting', Approving: 'Waiting', Paused: 'Waiting',
  Deploying: 'Deploying', Verifying: 'Deploying', Succeeded: 'Deployed', Failed: 'Failed', Cancelled: 'Failed', RolledBack: 'RolledBack',
};

export class ReleaseAppController {
  constructor(
    private readonly apps: CustomResources,
    private readonly releases: Informer,
    private readonly repo: Repository,
    private readonly now: () => Date = () => new Date(),
    private readonly targets?: Informer,
  ) {}

  private hosts(namespace: string, spec: ReleaseAppSpec, target: string): boolean {
    const object = this.targets?.get(namespace, target);
    return selectsTarget(spec.targets, { name: target, labels: (object?.metadata?.labels ?? {}) as Record<string, string> });
  }

  async reconcile(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const app = await this.apps.get(namespace, name);
    if (!app || app.metadata.deletionTimestamp) return;
    const status: ReleaseAppStatus = app.status ?? {};
    const generation = app.metadata.generation;
    const release = this.releases.get(namespace, app.spec.release) as { status?: ReleaseStatus } | undefined;
    const next: ReleaseAppStatus = { ...status, observedGeneration: generation };
    /** Whether this pass answered an action in status (its annotations are removed once the answer is stored). */
    let answered = false;
    if (!release) {
      next.phase = 'Pending';
      next.waitingFor = `Release ${app.spec.release} does not exist`;
      next.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'ReleaseNotFound', message: next.waitingFor, observedGeneration: generation }, this.now());
    } else {
      const rs = release.status ?? {};
      const phase = PHASE_OF_RELEASE[rs.phase ?? 'Pending'] ?? 'Pending';
      next.phase = phase;
      const env = rs.environments?.find((e) => e.name === rs.currentEnvironment);
      const stalled = rs.conditions?.find((c) => c.type === 'Stalled' && c.status === 'True');
      // A target of this app held back by a dependency says so here too (SPEC: status shows why an app waits).
      const held = env?.targets?.find((t) => t.waitingFor && t.phase === 'Pending' && this.hosts(namespace, app.spec, t.name));
      if (stalled) next.waitingFor = `release ${app.spec.release} is stalled: ${stalled.message}`.slice(0, 1024);
      else if (held) next.waitingFor = `${held.name} in ${env!.name}: ${held.waitingFor}`.slice(0, 1024);
      else if (phase === 'Waiting' && env?.waitingFor) next.waitingFor = `release ${app.spec.release}: ${env.name} waits for ${env.waitingFor}`.slice(0, 1024);
      else delete next.waitingFor;
      const stored = await this.repo.getReleaseAppByUid(String(app.metadata.uid));
      if (stored) {
        const ofApp = async () => (await this.repo.listDeploymentsOfRelease(stored.releaseId)).filter((d) => d.releaseAppId === stored.id);
        const before = await ofApp();
        const { answered: answeredNow, switched } = await this.versions(app.metadata.annotations ?? {}, app.spec as ReleaseAppSpec, status, next, stored, before, app.spec.release, rs.phase, generation);
        answered = answeredNow;
        // A switch added and superseded rows; otherwise the list read for the guard is current.
        const deployments = switched ? await ofApp() : before;
        const latest = new Map<string, (typeof deployments)[number]>();
        for (const d of deployments) if (d.operation !== 'rollback' && !d.superseded) latest.set(d.environment, d);
        const versions = [...latest.values()].map((d) => ({ environment: d.environment, version: d.version, status: d.status, ...(d.finishedAt ? { deployedAt: iso(d.finishedAt) } : {}) }));
        if (versions.length > 0) next.versions = versions;
        const recent = deployments.slice(-RECENT).reverse();
        if (recent.length > 0) {
          next.deployments = recent.map((d) => ({ id: d.id, version: d.version, environment: d.environment, status: d.status, superseded: d.superseded, ...(d.startedAt ? { startedAt: iso(d.startedAt) } : {}) }));
        }
      }
      const ready = phase === 'Deployed';
      next.conditions = setCondition(next.conditions, { type: 'Ready', status: ready ? 'True' : 'False', reason: phase, message: ready ? `deployed by release ${app.spec.release}` : `release ${app.spec.release} is ${rs.phase ?? 'Pending'}`, observedGeneration: generation }, this.now());
    }
    const written = JSON.stringify(next) !== JSON.stringify(status) ? await this.apps.patchStatus(app, next) : app;
    // The action is answered in status first, so a crash in between repeats the (idempotent) answer, not the work.
    const annotations = app.metadata.annotations ?? {};
    // The resourceVersion precondition of the patch keeps an action written since this pass read the object.
    const removeAction = answered && annotations[ACTION_ANNOTATION] !== undefined;
    // Labels a CI step can select by (`kubectl annotate releaseapps -A -l shipway.dev/app=web,shipway.dev/active=true`).
    const labels = app.metadata.labels ?? {};
    const wanted: Record<string, string> = { [ACTIVE_LABEL]: String(release !== undefined && !isTerminal(release.status?.phase)) };
    if (LABEL_VALUE.test(app.spec.app)) wanted[APP_LABEL] = app.spec.app;
    const labelChanges = Object.fromEntries(Object.entries(wanted).filter(([k, v]) => labels[k] !== v));
    if (removeAction || Object.keys(labelChanges).length > 0) {
      await this.apps.patchMetadata(written, {
        ...(Object.keys(labelChanges).length > 0 ? { labels: labelChanges } : {}),
        ...(removeAction ? { annotations: Object.fromEntries(APP_ACTION_ANNOTATIONS.filter((a) => a in annotations).map((a) => [a, null])) } : {}),
      });
    }
  }

  /**
   * The new tag in status, and the version switch: an action or a spec.version change, planned purely and
   * carried out in the history. Returns the ReleaseApp row as it is afterwards.
   */
  private async versions(annotations: Record<string, string>, spec: ReleaseAppSpec, status: ReleaseAppStatus, next: ReleaseAppStatus, row: ReleaseApp, deployments: readonly Deployment[], release: string, releasePhase: string | undefined, generation: number | undefined): Promise<{ answered: boolean; switched: boolean }> {
    const now = this.now();
    const tag = annotations[NEW_TAG_ANNOTATION]?.trim();
    const build = annotations[BUILD_ANNOTATION]?.trim().slice(0, 64);
    if (tag && isVersionRef(tag)) {
      const same = status.newTag?.tag === tag && status.newTag.build === build;
      next.newTag = { tag, ...(build ? { build } : {}), detectedAt: same ? status.newTag!.detectedAt : kubeTime(now) };
    } else delete next.newTag;
    // A tag written by hand that is not one is said, not silently dropped.
    if (tag && !isVersionRef(tag)) {
      next.conditions = setCondition(next.conditions, {
        type: 'NewTag', status: 'False', reason: 'InvalidTag', observedGeneration: generation,
        message: `annotation ${NEW_TAG_ANNOTATION}: Invalid value: ${JSON.stringify(tag.slice(0, 140))}: must be ${PATTERNS.versionRef.meaning}, at most 128 characters`,
      }, now);
    } else if (next.conditions?.some((c) => c.type === 'NewTag')) next.conditions = next.conditions.filter((c) => c.type !== 'NewTag');

    const requested = annotations[ACTION_ANNOTATION]?.trim();
    const actor = annotations[ACTOR_ANNOTATION]?.trim().slice(0, 253);
    let answered = false;
    const answer = (result: 'Applied' | 'Rejected', message: string) => {
      answered = true;
      next.lastAction = { action: (requested ?? '').slice(0, 32), ...(actor ? { actor } : {}), result, message: message.slice(0, 4096), at: kubeTime(now) };
    };
    let action: { version?: string } | undefined;
    if (requested !== undefined) {
      if (requested !== SWITCH_VERSION_ACTION) answer('Rejected', `unknown action "${requested.slice(0, 64)}" on a ReleaseApp; expected ${SWITCH_VERSION_ACTION} (release actions go on the Release)`);
      else action = annotations[VERSION_ANNOTATION] !== undefined ? { version: annotations[VERSION_ANNOTATION] } : {};
    }

    const running = deployments.filter((d) => d.status === 'running').length;
    const plan: VersionSwitchPlan = planVersionSwitch({
      release, releasePhase, effectiveVersion: row.version, specVersion: spec.version, acceptedSpecVersion: status.specVersion,
      ...(next.newTag ? { newTag: next.newTag.tag } : {}), ...(action ? { action } : {}), runningDeployments: running,
    });
    const switchCondition = (ok: boolean, reason: string, message: string) => {
      next.conditions = setCondition(next.conditions, { type: 'VersionSwitched', status: ok ? 'True' : 'False', reason, message, observedGeneration: generation }, now);
    };
    switch (plan.kind) {
      case 'switch': {
        let outcome;
        try {
          outcome = await switchReleaseAppVersion(this.repo, row, plan.to);
        } catch (error) {
          // Another switch won the row, or work started meanwhile: look again with what is there now.
          if (error instanceof OptimisticLockError || error instanceof SwitchConflict) throw new TransientError(`version switch of ${row.app}: ${error.message}; reconciling again`);
          throw error;
        }
        row = outcome.row;
        const message = `switched from ${plan.from} to ${plan.to}${plan.source === 'spec' ? ' (spec.version)' : actor ? ` by ${actor}` : ''}; ${outcome.superseded.length} deployment(s) superseded`;
        if (plan.source === 'action') answer('Applied', message);
        switchCondition(true, 'Switched', message);
        break;
      }
      case 'unchanged':
        if (plan.source === 'action') answer('Applied', `already at ${plan.to}: nothing to switch`);
        break;
      case 'refuse':
        if (plan.source === 'action') answer('Rejected', `cannot switch${plan.to ? ` to ${plan.to}` : ''}: ${plan.reason}`);
        else switchCondition(false, 'SwitchWaiting', `spec.version ${plan.to} is not in effect yet (${row.version} is): ${plan.reason}; it is switched when the release is Waiting`);
        break;
      case 'none':
        break;
    }
    // The spec.version is taken into account unless its switch waits.
    if (!(plan.kind === 'refuse' && plan.source === 'spec')) next.specVersion = spec.version;
    if (plan.kind !== 'refuse' && next.conditions?.some((c) => c.type === 'VersionSwitched' && c.reason === 'SwitchWaiting')) {
      switchCondition(true, 'InEffect', `spec.version ${spec.version} is in effect`);
    }
    next.version = row.version;
    next.hasNewTag = next.newTag !== undefined && next.newTag.tag !== row.version;
    if ((row.newTag ?? undefined) !== next.newTag?.tag || (row.newBuild ?? undefined) !== next.newTag?.build) {
      row = await this.repo.updateReleaseApp(row.id, row.lockVersion, {
        newTag: next.newTag?.tag ?? null, newBuild: next.newTag?.build ?? null, newTagDetectedAt: next.newTag ? new Date(next.newTag.detectedAt) : null,
      });
    }
    return { answered, switched: plan.kind === 'switch' };
  }
}
