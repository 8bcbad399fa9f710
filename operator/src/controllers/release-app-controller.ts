/**
 * ReleaseApps follow their Release: the phase comes from the Release's phase, the version per environment
 * and the recent deployments from history (the full list stays in the database).
 */
import { setCondition } from '../api/conditions.ts';
import type { ReleaseAppSpec, ReleaseAppStatus } from '../api/release-app.ts';
import { selectsTarget } from '../planning/target-resolution.ts';
import type { ReleaseStatus } from '../api/release.ts';
import type { Informer } from '../runtime/informer.ts';
import type { Repository } from '../storage/index.ts';
import type { CustomResources } from './custom-resources.ts';
import { kubeTime } from '../api/kube-time.ts';

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
      const row = await this.repo.getReleaseAppByUid(String(app.metadata.uid));
      if (row) {
        const deployments = (await this.repo.listDeploymentsOfRelease(row.releaseId)).filter((d) => d.releaseAppId === row.id);
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
      next.conditions = setCondition(status.conditions, { type: 'Ready', status: ready ? 'True' : 'False', reason: phase, message: ready ? `deployed by release ${app.spec.release}` : `release ${app.spec.release} is ${rs.phase ?? 'Pending'}`, observedGeneration: generation }, this.now());
    }
    if (JSON.stringify(next) !== JSON.stringify(status)) await this.apps.patchStatus(app, next);
  }
}
