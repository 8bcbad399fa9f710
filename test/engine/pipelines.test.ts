/**
 * Pipelines on Kubernetes targets end to end: pre_release / release / post_release stages with a script
 * run as a Job, a webhook notification (received by a local server), a condition skipping a task, an http
 * health check against a local server; a failing health check in a stage with `onError: rollback` rolls
 * the target back, one with `onError: continue` does not stop the release. Also an environment approval
 * gate decided by annotation, and a StatefulSet target.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useEngine, workloads } from './engine-fixture.ts';

const engine = useEngine();
let server: Server;
let base: string;
const received: { path: string; body: Record<string, unknown>; headers: Record<string, unknown> }[] = [];
let healthy = true;
/** Webhook requests to /flaky fail this many times before one succeeds. */
let flakyFailures = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url?.startsWith('/healthz')) {
        res.writeHead(healthy ? 200 : 503).end(healthy ? 'ok' : 'down');
        return;
      }
      received.push({ path: req.url ?? '', body: body ? JSON.parse(body) : {}, headers: req.headers });
      if (req.url === '/flaky' && flakyFailures > 0) {
        flakyFailures--;
        res.writeHead(500).end('try again');
        return;
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

const pipeline = (ns: string, onError: 'rollback' | 'continue') => `
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: { name: full, namespace: ${ns} }
spec:
  stages:
    - name: prepare
      phase: pre_release
      tasks:
        - { id: migrate, type: script, script: { image: 'busybox:1', script: 'echo migrating $APP_VERSION' } }
        - { id: only-prod, type: script, condition: "environment == 'prod'", script: { image: 'busybox:1', script: 'true' } }
    - name: ship
      phase: release
      tasks:
        - { id: deploy, type: deploy }
        - id: tell
          type: notify
          dependsOn: [deploy]
          notify: { webhook: { url: '${base}/hook/\${RELEASE_ENV}', headers: { x-team: shop } }, template: 'released \${APP_VERSION} to \${TARGET_NAME}' }
    - name: check
      phase: post_release
      onError: ${onError}
      tasks:
        - { id: health, type: health_check, healthCheck: { type: http, url: '${base}/healthz', retry: 1, intervalSeconds: 1, timeoutSeconds: 2 } }
`;

const release = (ns: string, envs: string) => `
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: r, namespace: ${ns} }
spec:
  project: shop
  version: 1.1.0
  pipelineRef: { name: full }
  environments: ${envs}
`;


describe('pipelines', () => {
  it('runs the three phases: a Job, a skipped task, a webhook and a health check', async () => {
    healthy = true;
    const ns = await engine.namespace('pipeline');
    await engine.apply(workloads(ns, 'pre', ['a']));
    await engine.apply(pipeline(ns, 'rollback'));
    await engine.apply(release(ns, '[{ name: pre, promotion: auto }]'));
    const done = await engine.waitFor(ns, 'r', (r) => ['Succeeded', 'Failed', 'RolledBack'].includes(r.status?.phase), 'the pipeline finishes');
    expect(done.status.phase).toBe('Succeeded');
    const history = await engine.history(ns, 'r');
    expect(history.deployments[0]!.stageRuns.map((s) => `${s.stage}:${s.taskRuns.map((t) => `${t.taskId}=${t.status}`).join(',')}`)).toEqual([
      'prepare:migrate=succeeded,only-prod=skipped',
      'ship:deploy=succeeded,tell=succeeded',
      'check:health=succeeded',
    ]);
    const jobs = await engine.json(['get', 'jobs', '-n', ns]);
    expect(jobs.items).toHaveLength(1);
    const container = jobs.items[0].spec.template.spec.containers[0];
    expect(container.command).toEqual(['/bin/bash', '-c', 'echo migrating $APP_VERSION']);
    const hook = received.find((r) => r.path === '/hook/pre');
    expect(hook?.body).toMatchObject({ text: 'released 1.1.0 to a', environment: 'pre' });
    expect(hook?.headers['x-team']).toBe('shop');
    expect(done.status.environments[0].targets[0].stages.map((s: { name: string; status: string }) => `${s.name}:${s.status}`)).toEqual(['prepare:succeeded', 'ship:succeeded', 'check:succeeded']);
  }, 90_000);

  it('rolls the target back when a stage with onError rollback fails its health check', async () => {
    healthy = false;
    const ns = await engine.namespace('unhealthy');
    await engine.apply(workloads(ns, 'pre', ['a']));
    await engine.apply(pipeline(ns, 'rollback'));
    await engine.apply(release(ns, '[{ name: pre, promotion: auto }]'));
    const done = await engine.waitFor(ns, 'r', (r) => ['Succeeded', 'Failed', 'RolledBack'].includes(r.status?.phase), 'the pipeline finishes');
    expect(done.status.phase).toBe('RolledBack');
    expect(done.status.message).toContain('stage check');
    expect(done.status.message).toContain('503');
    expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.0.0');
    const history = await engine.history(ns, 'r');
    const health = history.deployments[0]!.stageRuns.at(-1)!.taskRuns[0]!;
    expect(health).toMatchObject({ taskId: 'health', status: 'failed' });
  }, 90_000);

  it('carries on past a failed stage with onError continue', async () => {
    healthy = false;
    const ns = await engine.namespace('tolerant');
    await engine.apply(workloads(ns, 'pre', ['a']));
    await engine.apply(pipeline(ns, 'continue'));
    await engine.apply(release(ns, '[{ name: pre, promotion: auto }]'));
    const done = await engine.waitFor(ns, 'r', (r) => ['Succeeded', 'Failed', 'RolledBack'].includes(r.status?.phase), 'the pipeline finishes');
    expect(done.status.phase).toBe('Succeeded');
    expect(done.status.environments[0].targets[0].stages.at(-1)).toMatchObject({ name: 'check', status: 'failed' });
    expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.1.0');
  }, 90_000);

  it('waits for an environment approval and deploys once an approver approves by annotation', async () => {
    healthy = true;
    const ns = await engine.namespace('approval');
    await engine.apply(workloads(ns, 'prod', ['a']));
    await engine.apply(release(ns, '[{ name: prod, promotion: auto, approval: { required: true, approvers: [lead] } }]').replace('  pipelineRef: { name: full }\n', ''));
    const waiting = await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Approving', 'waits for approval');
    expect(waiting.status.environments[0].waitingFor).toBe('approval by lead');
    await engine.annotate(ns, 'r', { 'shipway.dev/action': 'approve', 'shipway.dev/actor': 'intruder' });
    const refused = await engine.waitFor(ns, 'r', (r) => r.status?.lastAction?.actor === 'intruder', 'refused');
    expect(refused.status.lastAction).toMatchObject({ result: 'Rejected', message: 'intruder is not among the approvers of environment prod (lead)' });
    await engine.annotate(ns, 'r', { 'shipway.dev/action': 'approve', 'shipway.dev/actor': 'lead', 'shipway.dev/comment': 'go' });
    await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Succeeded', 'deploys after approval');
    const history = await engine.history(ns, 'r');
    expect(history.approvals.map((a) => `${a.environment}:${a.status}:${a.decidedBy}:${a.comment}`)).toEqual(['prod:approved:lead:go']);
  }, 90_000);

  it('rolls out a StatefulSet target', async () => {
    const ns = await engine.namespace('sts');
    await engine.apply(`
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: db, namespace: ${ns} }
spec:
  replicas: 2
  serviceName: db
  selector: { matchLabels: { app: db } }
  template:
    metadata: { labels: { app: db } }
    spec: { containers: [{ name: db, image: registry.local/db:1.0.0 }] }
---
apiVersion: shipway.dev/v1alpha1
kind: Target
metadata: { name: db, namespace: ${ns} }
spec: { type: kubernetes, environment: pre, kubernetes: { namespace: ${ns}, kind: StatefulSet, name: db } }
`);
    await engine.apply(release(ns, '[{ name: pre, promotion: auto }]').replace('  pipelineRef: { name: full }\n', ''));
    const done = await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Succeeded', 'the StatefulSet is rolled out');
    expect(done.status.environments[0].targets[0]).toMatchObject({ previousVersion: '1.0.0', version: '1.1.0' });
    const sts = await engine.json(['get', 'statefulset', 'db', '-n', ns]);
    expect(sts.spec.template.spec.containers[0].image).toBe('registry.local/db:1.1.0');
  }, 90_000);

  it('retries a failing task and times out a slow one', async () => {
    flakyFailures = 1;
    const ns = await engine.namespace('retries');
    await engine.apply(workloads(ns, 'pre', ['a']));
    await engine.apply(`
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: { name: full, namespace: ${ns} }
spec:
  stages:
    - name: around
      phase: post_release
      onError: continue
      tasks:
        - { id: flaky, type: notify, retry: 2, retryDelaySeconds: 0, notify: { webhook: { url: '${base}/flaky' } } }
        - { id: slow, type: wait, timeoutSeconds: 1, wait: { durationSeconds: 600 } }
`);
    await engine.apply(release(ns, '[{ name: pre, promotion: auto }]'));
    await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Succeeded', 'the release goes on past the failed stage');
    const tasks = (await engine.history(ns, 'r')).deployments[0]!.stageRuns.at(-1)!.taskRuns;
    expect(tasks.map((t) => `${t.taskId}:${t.status}:${t.retryCount}`)).toEqual(['flaky:succeeded:1', 'slow:failed:0']);
    expect(tasks[1]!.error).toBe('timed out after 1s');
    expect(received.filter((r) => r.path === '/flaky')).toHaveLength(2);
  }, 90_000);
});

