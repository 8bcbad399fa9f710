/**
 * The `redeploy` rollback kind (publish-flow design §6): instead of switching targets back to their previous
 * revision (`quick`, done by the release machine), a new Release of an older version goes through the whole
 * pipeline, every environment and its gates. The older version's app versions come from the history; the
 * new objects have deterministic names so a repeated pass creates them once.
 */
import type { ReleaseAppSpec } from '../api/release-app.ts';
import type { ReleaseSpec } from '../api/release.ts';
import { GROUP_VERSION } from '../api/common.ts';
import type { ReleaseAction, ActionResult } from '../planning/release-machine.ts';
import type { Repository } from '../storage/index.ts';
import type { CustomObject, CustomResources } from './custom-resources.ts';

export const REDEPLOY_OF_ANNOTATION = 'shipway.dev/redeploy-of';

/** A DNS subdomain made of a name and a version ("1.1.0+build.7" → "1.1.0-build.7"), at most 253 characters. */
export function redeployName(base: string, version: string): string {
  const suffix = version.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '');
  return `${base.slice(0, 253 - suffix.length - 10)}-redeploy-${suffix}`.replace(/[-.]+$/, '');
}

export interface RedeployOptions {
  releases: CustomResources;
  releaseApps: CustomResources;
  repo: Repository;
}

export interface AppOfRelease {
  name: string;
  spec: ReleaseAppSpec;
}

export async function redeploy(o: RedeployOptions, release: CustomObject, apps: AppOfRelease[], action: ReleaseAction): Promise<ActionResult> {
  const spec = release.spec as ReleaseSpec;
  const version = action.rollbackVersion!;
  const namespace = String(release.metadata.namespace);
  const older = (await o.repo.listReleasesOfProject(spec.project)).find((r) => r.version === version && r.uid !== release.metadata.uid);
  if (!older) return { result: 'Rejected', message: `no release of project ${spec.project} with version ${version} is in the history` };
  const olderApps = new Map((await o.repo.listReleaseAppsOfRelease(older.id)).map((a) => [a.app, a.version]));

  const name = redeployName(String(release.metadata.name), version);
  const { schedule: _schedule, bump: _bump, ...rest } = spec;
  const body = {
    apiVersion: GROUP_VERSION,
    kind: 'Release',
    metadata: {
      name,
      namespace,
      labels: withoutGitOpsTracking(release.metadata.labels),
      annotations: {
        [REDEPLOY_OF_ANNOTATION]: `${namespace}/${release.metadata.name}`,
        ...(action.actor ? { 'shipway.dev/created-by': action.actor } : {}),
        ...(action.comment ? { 'shipway.dev/comment': action.comment } : {}),
      },
    },
    spec: { ...rest, version, paused: false } satisfies ReleaseSpec,
  };
  const created = await o.releases.createOnce(namespace, body);
  const kept: string[] = [];
  for (const app of apps) {
    const appVersion = olderApps.get(app.spec.app);
    if (!appVersion) kept.push(app.spec.app);
    await o.releaseApps.createOnce(namespace, {
      apiVersion: GROUP_VERSION,
      kind: 'ReleaseApp',
      metadata: { name: redeployName(app.name, version), namespace, annotations: { [REDEPLOY_OF_ANNOTATION]: `${namespace}/${app.name}` } },
      spec: { ...app.spec, release: name, version: appVersion ?? app.spec.version } satisfies ReleaseAppSpec,
    });
  }
  const versions = apps.map((a) => `${a.spec.app} ${olderApps.get(a.spec.app) ?? a.spec.version}`).join(', ');
  return {
    result: 'Applied',
    message: `redeploy of version ${version} ${created === 'created' ? 'created' : 'exists'} as Release ${name}${versions ? ` (${versions})` : ''}` +
      `${kept.length ? `; ${kept.join(', ')} had no version in ${version} and keep their current one` : ''}; it goes through the full pipeline`,
  };
}

/**
 * The labels of the Release being rolled back, less those by which a GitOps tool claims an object: the copy
 * is the operator's, and Argo CD (legacy `app.kubernetes.io/instance` tracking) or Flux would otherwise prune
 * it as an object missing from git.
 */
export function withoutGitOpsTracking(labels: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(labels ?? {}).filter(([key]) => key !== 'app.kubernetes.io/instance' && !key.startsWith('argocd.argoproj.io/') && !/^[a-z]+\.toolkit\.fluxcd\.io\//.test(key)));
}
