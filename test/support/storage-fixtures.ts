/** Rows for storage tests. Every key is unique per call, so tests sharing a database never collide. */
import { randomUUID } from 'node:crypto';
import type { Repository } from '../../operator/src/storage/repository.ts';
import type {
  Deployment,
  NewDeployment,
  NewRelease,
  NewReleaseApp,
  NewStageRun,
  NewTaskRun,
  Release,
  ReleaseApp,
  StageRun,
} from '../../operator/src/storage/schema.ts';

export const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

export function releaseInput(overrides: Partial<NewRelease> = {}): NewRelease {
  return {
    uid: randomUUID(),
    namespace: 'shop',
    name: unique('release'),
    project: unique('project'),
    version: '1.4.0',
    operation: 'deploy',
    createdBy: 'alice',
    spec: { environments: [{ name: 'pre' }, { name: 'prod' }] },
    ...overrides,
  };
}

export function releaseAppInput(release: Release, overrides: Partial<NewReleaseApp> = {}): NewReleaseApp {
  return {
    uid: randomUUID(),
    releaseId: release.id,
    namespace: release.namespace,
    name: unique('release-app'),
    app: unique('app'),
    version: 'v1',
    ...overrides,
  };
}

export function deploymentInput(
  release: Release,
  releaseApp: ReleaseApp,
  overrides: Partial<NewDeployment> = {},
): NewDeployment {
  return {
    dedupKey: unique('deployment'),
    releaseId: release.id,
    releaseAppId: releaseApp.id,
    app: releaseApp.app,
    environment: 'pre',
    target: 'shop/web-pre-1',
    targetType: 'docker',
    version: releaseApp.version,
    operation: 'deploy',
    ...overrides,
  };
}

export function stageRunInput(deployment: Deployment, overrides: Partial<NewStageRun> = {}): NewStageRun {
  return {
    dedupKey: unique('stage'),
    deploymentId: deployment.id,
    releaseId: deployment.releaseId,
    target: deployment.target,
    environment: deployment.environment,
    stage: 'deploy',
    phase: 'release',
    ...overrides,
  };
}

export function taskRunInput(stageRun: StageRun, overrides: Partial<NewTaskRun> = {}): NewTaskRun {
  return {
    dedupKey: unique('task'),
    stageRunId: stageRun.id,
    releaseId: stageRun.releaseId,
    taskId: unique('task-id'),
    taskName: 'pull image',
    type: 'deploy',
    ...overrides,
  };
}

/** A release with one release app and one deployment of it. */
export async function seedDeployment(repository: Repository, overrides: Partial<NewDeployment> = {}) {
  const release = await repository.upsertRelease(releaseInput());
  const releaseApp = await repository.recordReleaseApp(releaseAppInput(release));
  const deployment = await repository.recordDeployment(deploymentInput(release, releaseApp, overrides));
  return { release, releaseApp, deployment };
}
