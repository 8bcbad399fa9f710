/**
 * A TaskContext as the engine would hand it over, for executor tests. The engine's ports (driver, approval,
 * mask) are plain values here; tests replace the ones they exercise.
 */
import type { Task } from '../../operator/src/api/pipeline.ts';
import { createMasker } from '../../operator/src/planning/masking.ts';
import type { RolloutState } from '../../operator/src/planning/workload-rollout.ts';
import type { ImageChange, TargetRef, TaskContext, WorkloadDriver } from '../../operator/src/tasks/task-executor.ts';

export const kubernetesTarget: TargetRef = {
  namespace: 'shop',
  name: 'web-pre',
  labels: { region: 'eu-west' },
  spec: { type: 'kubernetes', environment: 'pre', priority: 0, kubernetes: { namespace: 'shop', kind: 'Deployment', name: 'web' } },
};

/** The secret value tests look for in outputs; the context's mask hides it. */
export const SECRET = 's3cr3t-token-value';

/** A driver for tests that must not reach a workload: any use is a test failure. */
export const unusedDriver: WorkloadDriver = new Proxy({} as WorkloadDriver, {
  get: (_target, method) => () => {
    throw new Error(`driver.${String(method)} was not expected in this test`);
  },
});

export function taskContext(task: Task, overrides: Partial<TaskContext> = {}): TaskContext {
  return {
    task,
    release: { namespace: 'shop', name: 'shop-1-1-0', uid: 'uid-release', project: 'shop', version: '1.1.0' },
    environment: 'pre',
    target: kubernetesTarget,
    images: [{ container: 'web', image: 'registry.local/shop/web:1.1.0' }],
    variables: { RELEASE_VERSION: '1.1.0', API_TOKEN: SECRET },
    results: {},
    runKey: `shop/shop-1-1-0/pre/web-pre/${task.id}`,
    attempt: 1,
    startedAt: new Date(),
    resumed: false,
    signal: new AbortController().signal,
    log: () => {},
    driver: unusedDriver,
    approval: async () => 'pending',
    mask: createMasker([SECRET]),
    now: () => new Date(),
    ...overrides,
  };
}

/** Answers `approval()` from a list, repeating the last answer once the list is used up. */
export function approvalSequence(...states: Awaited<ReturnType<TaskContext['approval']>>[]): { approval: TaskContext['approval']; calls: () => number } {
  let calls = 0;
  return {
    approval: async () => states[Math.min(calls++, states.length - 1)]!,
    calls: () => calls,
  };
}

export interface DriverCall {
  method: string;
  args: unknown[];
}

/** A WorkloadDriver (the engine's port) that records calls and answers with the given results. */
export function recordingDriver(answers: {
  setImages?: { changed: boolean; previous: Record<string, string> };
  rollout?: RolloutState;
  rollback?: { images: Record<string, string> };
  cleanup?: { deleted: string[] };
}): { driver: WorkloadDriver; calls: DriverCall[] } {
  const calls: DriverCall[] = [];
  const record = (method: string, args: unknown[]) => calls.push({ method, args });
  const driver: WorkloadDriver = {
    async observe() {
      throw new Error('observe is not used by the executors under test');
    },
    async setImages(target: TargetRef, images: readonly ImageChange[], cause: string) {
      record('setImages', [target, images, cause]);
      return answers.setImages ?? { changed: true, previous: { web: 'registry.local/shop/web:1.0.0' } };
    },
    async waitForRollout(target, options) {
      record('waitForRollout', [target]);
      options.onProgress?.('Waiting for deployment "web" rollout to finish: 0 out of 2 new replicas have been updated...');
      options.onProgress?.('Waiting for deployment "web" rollout to finish: 0 out of 2 new replicas have been updated...');
      return answers.rollout ?? { state: 'done', message: 'deployment "web" successfully rolled out' };
    },
    async rollback(target, options) {
      record('rollback', [target, options]);
      return answers.rollback ?? { images: { web: 'registry.local/shop/web:1.0.0' } };
    },
    async cleanup(target, keepVersions) {
      record('cleanup', [target, keepVersions]);
      return answers.cleanup ?? { deleted: [] };
    },
    async kubeConfigFor() {
      throw new Error('kubeConfigFor is not used by the executors under test');
    },
  };
  return { driver, calls };
}

/** A task with the schema's defaults for the fields every task has. */
export function task(fields: Partial<Task> & Pick<Task, 'id' | 'type'>): Task {
  return { retry: 0, retryDelaySeconds: 10, ...fields };
}
