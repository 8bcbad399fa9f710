import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatIndexes, parseIndexes } from '../../kube-api/controllers/job-controller.ts';
import type { KubeObject } from '../../kube-api/store.ts';
import { condition, nextEvent, startCluster, waitFor, type Cluster } from './harness.ts';

let cluster: Cluster;
beforeEach(() => {
  cluster = startCluster(50);
});
afterEach(() => cluster.stop());

const ns = 'default';
const getJob = (name = 'task') => cluster.api.get(cluster.types.jobs, ns, name);
const jobPods = (name = 'task') => cluster.api.list(cluster.types.pods, ns).filter((p) => p.metadata.labels?.['job-name'] === name);
const finished = (job: KubeObject) => (job.status?.conditions ?? []).some((c: KubeObject) => ['Complete', 'Failed'].includes(c.type) && c.status === 'True');

function createJob(image: string, spec: KubeObject = {}, name = 'task'): KubeObject {
  return cluster.api.create(cluster.types.jobs, ns, {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: { template: { spec: { containers: [{ name: 'work', image }] } }, ...spec },
  });
}

describe('Job controller', () => {
  it('formats completed indexes as a server does', () => {
    expect(formatIndexes(new Set([0, 1, 2, 4, 6, 7]))).toBe('0-2,4,6-7');
    expect([...parseIndexes('0-2,4')]).toEqual([0, 1, 2, 4]);
    expect(formatIndexes(new Set())).toBe('');
  });

  it('runs a pod to completion and reports Complete as a 1.32 server does', async () => {
    const active = nextEvent(cluster.api, (resource, o) => resource === 'batch/jobs' && o.status?.active === 1);
    const job = createJob('busybox:1.36');
    const running = await active;
    expect(running.status).toMatchObject({ active: 1, ready: 0, terminating: 0, uncountedTerminatedPods: {}, startTime: expect.any(String) });
    const [pod] = jobPods();
    expect(pod!.metadata.name).toMatch(/^task-[a-z0-9]{5}$/);
    expect(pod!.metadata.ownerReferences).toEqual([{ apiVersion: 'batch/v1', kind: 'Job', name: 'task', uid: job.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    expect(pod!.metadata.finalizers).toEqual(['batch.kubernetes.io/job-tracking']);
    expect(pod!.metadata.labels['batch.kubernetes.io/controller-uid']).toBe(job.metadata.uid);

    const done = await waitFor('complete', () => finished(getJob()) && getJob(), 5_000, () => getJob().status);
    expect(done.status).toEqual({
      startTime: running.status.startTime,
      completionTime: expect.any(String),
      succeeded: 1,
      ready: 0,
      terminating: 0,
      uncountedTerminatedPods: {},
      conditions: [
        { type: 'SuccessCriteriaMet', status: 'True', lastProbeTime: expect.any(String), lastTransitionTime: expect.any(String), reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' },
        { type: 'Complete', status: 'True', lastProbeTime: expect.any(String), lastTransitionTime: expect.any(String), reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' },
      ],
    });
    const [after] = jobPods();
    expect(after!.status.phase).toBe('Succeeded');
    expect(after!.metadata.finalizers).toBeUndefined();
  });

  it('runs completions with parallelism', async () => {
    const active = nextEvent(cluster.api, (resource, o) => resource === 'batch/jobs' && o.status?.active > 0);
    createJob('busybox', { completions: 4, parallelism: 2 });
    const first = await active;
    expect(first.status.active).toBe(2);
    const done = await waitFor('complete', () => finished(getJob()) && getJob(), 5_000, () => getJob().status);
    expect(done.status.succeeded).toBe(4);
    expect(jobPods()).toHaveLength(4);
  });

  it('fails after backoffLimit with a -fail image', async () => {
    createJob('busybox:1-fail', { backoffLimit: 1 });
    const done = await waitFor('failed', () => finished(getJob()) && getJob(), 5_000, () => getJob().status);
    expect(done.status.failed).toBe(2);
    expect(done.status.succeeded).toBeUndefined();
    expect(done.status.completionTime).toBeUndefined();
    expect(done.status.conditions.map((c: KubeObject) => [c.type, c.reason, c.message])).toEqual([
      ['FailureTarget', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'],
      ['Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'],
    ]);
    expect(jobPods().map((p) => p.status.phase)).toEqual(['Failed', 'Failed']);
  });

  it('fails past activeDeadlineSeconds, counting the killed pod as failed', async () => {
    createJob('worker:1-broken', { activeDeadlineSeconds: 1 });
    const done = await waitFor('deadline', () => finished(getJob()) && getJob(), 5_000, () => getJob().status);
    expect(condition(done, 'Failed')).toMatchObject({ reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' });
    expect(done.status.failed).toBe(1);
    expect(jobPods()).toHaveLength(0);
  });

  it('runs Indexed jobs with one pod per index', async () => {
    createJob('busybox', { completions: 3, parallelism: 3, completionMode: 'Indexed' });
    const done = await waitFor('complete', () => finished(getJob()) && getJob(), 5_000, () => getJob().status);
    expect(done.status).toMatchObject({ succeeded: 3, completedIndexes: '0-2' });
    const indexes = jobPods().map((p) => p.metadata.annotations['batch.kubernetes.io/job-completion-index']).sort();
    expect(indexes).toEqual(['0', '1', '2']);
    expect(jobPods().map((p) => p.metadata.name).sort()[0]).toMatch(/^task-0-[a-z0-9]{5}$/);
  });

  it('suspends and resumes', async () => {
    createJob('worker:1-broken', { suspend: true });
    const suspended = await waitFor('suspended', () => condition(getJob(), 'Suspended')?.status === 'True' && getJob());
    expect(condition(suspended, 'Suspended')).toMatchObject({ reason: 'JobSuspended', message: 'Job suspended' });
    expect(jobPods()).toHaveLength(0);
    const job = getJob();
    job.spec.suspend = false;
    cluster.api.update(cluster.types.jobs, ns, 'task', job, undefined, {});
    const resumed = await waitFor('resumed', () => getJob().status?.active === 1 && getJob());
    expect(condition(resumed, 'Suspended')).toMatchObject({ status: 'False', reason: 'JobResumed' });
  });

  it('deletes a finished Job after ttlSecondsAfterFinished', async () => {
    createJob('busybox', { ttlSecondsAfterFinished: 0 });
    await waitFor('deleted', () => !cluster.api.store.get('batch/jobs', ns, 'task') && jobPods().length === 0);
  });

  it('deleting a running Job removes its pods despite their tracking finalizers', async () => {
    createJob('worker:1-broken');
    await waitFor('active', () => getJob().status?.active === 1);
    cluster.api.delete(cluster.types.jobs, ns, 'task', {});
    await waitFor('pods gone', () => jobPods().length === 0, 5_000, () => jobPods().map((p) => p.metadata));
  });
});
