/**
 * Release policy (issue 5) end to end on the API emulator, through kubectl: release windows with emergency
 * starts, a cron schedule kept across an operator restart, approval expiry and approver groups, ReleaseApp
 * dependencies (order, a failed dependency, a cycle), `version: auto`, the two rollback kinds and the
 * migration guard. Each scenario works in its own namespace (and, where the project's history matters, its
 * own project), and checks the operator's database as well as the cluster.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useEngine, workloads } from './engine-fixture.ts';

const engine = useEngine();
let server: Server;
let base: string;
const received: { path: string; body: Record<string, unknown> }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url?.startsWith('/unhealthy')) {
        res.writeHead(503).end('down');
        return;
      }
      received.push({ path: req.url ?? '', body: body ? JSON.parse(body) : {} });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

/** Kubernetes timestamps: seconds, `Z`. */
const kubeTime = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const condition = (r: { status?: { conditions?: { type: string }[] } }, type: string) => r.status?.conditions?.find((c) => c.type === type) as { status: string; reason: string; message: string } | undefined;
const FINISHED = ['Succeeded', 'Failed', 'Cancelled', 'RolledBack'];

/**
 * Annotates an action and waits until the operator has recorded it and acknowledged the annotation's
 * removal, so the next action (by another actor) is never mistaken for this one.
 */
async function act(ns: string, name: string, annotations: Record<string, string>) {
  const action = annotations['shipway.dev/action'];
  const actor = annotations['shipway.dev/actor'];
  await engine.annotate(ns, name, annotations);
  return engine.waitFor(ns, name, (r) => r.status?.lastAction?.action === action && r.status.lastAction.actor === actor && r.status.lastAction.acknowledged === true && !r.metadata.annotations?.['shipway.dev/action'], `${action} by ${actor} is recorded`);
}

describe('release policy', () => {
  it('waits outside the release window until the next opening; an emergency user starts it, someone else may not', async () => {
    const ns = await engine.namespace('window');
    // Allowed only on the day after tomorrow (UTC), 00:00-01:00: closed now, and opening at an instant
    // that stays the same even if the test runs across midnight.
    const now = new Date();
    const opens = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 2));
    const weekday = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][opens.getUTCDay()]!;
    await engine.apply(workloads(ns, 'prod', ['a']));
    await engine.apply(`
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: r, namespace: ${ns} }
spec:
  project: shop
  version: 1.1.0
  environments:
    - name: prod
      promotion: auto
      window: { timezone: UTC, allowed: [{ days: [${weekday}], start: '00:00', end: '01:00' }], emergencyUsers: [oncall] }
`);
    const waiting = await engine.waitFor(ns, 'r', (r) => r.status?.environments?.[0]?.waitingUntil !== undefined, 'the release waits for its window');
    expect(waiting.status.phase).toBe('Waiting');
    expect(waiting.status.environments[0]).toMatchObject({
      phase: 'Waiting',
      waitingUntil: kubeTime(opens),
      waitingFor: `release window: outside the release window ${weekday} 00:00-01:00 (UTC); opens at ${kubeTime(opens)}`,
    });
    expect(waiting.status.message).toBe(`environment prod waits for the ${waiting.status.environments[0].waitingFor}`);
    const untouched = await engine.json(['get', 'deployment', 'a', '-n', ns]);
    expect(untouched.metadata.generation).toBe(1);
    expect(untouched.spec.template.spec.containers[0].image).toBe('registry.local/web:1.0.0');

    const refused = await act(ns, 'r', { 'shipway.dev/action': 'start', 'shipway.dev/actor': 'mallory', 'shipway.dev/emergency': 'true', 'shipway.dev/comment': 'let me in' });
    expect(refused.status.lastAction).toMatchObject({ result: 'Rejected', message: 'mallory is not an emergency user of environment prod' });
    expect(refused.status.phase).toBe('Waiting');
    expect(refused.status.emergency).toBeUndefined();
    expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.0.0');

    await engine.annotate(ns, 'r', { 'shipway.dev/action': 'start', 'shipway.dev/actor': 'oncall', 'shipway.dev/emergency': 'true', 'shipway.dev/comment': 'payment outage' });
    const done = await engine.waitFor(ns, 'r', (r) => FINISHED.includes(r.status?.phase), 'the emergency release finishes');
    expect(done.status.phase).toBe('Succeeded');
    expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.1.0');
    expect(done.status.emergency).toBe(true);
    expect(done.status.environments[0].emergency).toMatchObject({ actor: 'oncall', reason: 'payment outage' });
    expect(done.status.environments[0].waitingUntil).toBeUndefined();
    expect(done.status.lastAction).toMatchObject({ action: 'start', actor: 'oncall', result: 'Applied' });

    const history = await engine.history(ns, 'r');
    expect(history.auditEvents.map((e) => ({ action: e.action, actor: e.actor, comment: e.comment, details: e.details }))).toEqual([
      { action: 'start', actor: 'mallory', comment: 'let me in', details: { result: 'Rejected', message: 'mallory is not an emergency user of environment prod', emergency: true } },
      { action: 'start', actor: 'oncall', comment: 'payment outage', details: expect.objectContaining({ result: 'Applied', emergency: true }) },
    ]);
    expect(history.deployments.map((d) => `${d.target}:${d.version}:${d.status}`)).toEqual([`${ns}/a:1.1.0:succeeded`]);
    const events = await engine.json(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=r,reason=EmergencyRelease']);
    expect(events.items.map((e: { message: string }) => e.message)).toEqual([expect.stringContaining('emergency release by oncall: payment outage')]);
  }, 70_000);

  it('starts a cron-scheduled release on time after an operator restart, once', async () => {
    const ns = await engine.namespace('schedule');
    await engine.apply(workloads(ns, 'pre', ['a']));
    // Six fields (seconds first), in Shanghai time: one instant about 20 s from now.
    const fire = new Date(Math.ceil(Date.now() / 1000) * 1000 + 20_000);
    const local = DateTime.fromJSDate(fire, { zone: 'Asia/Shanghai' });
    const cron = `${local.second} ${local.minute} ${local.hour} ${local.day} ${local.month} *`;
    await engine.apply(`
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: r, namespace: ${ns} }
spec:
  project: shop
  version: 1.1.0
  schedule: { cron: '${cron}', timezone: Asia/Shanghai }
  environments: [{ name: pre, promotion: auto }]
`);
    const scheduled = await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Scheduled' && r.status.scheduledAt, 'the release is Scheduled');
    expect(scheduled.status.scheduledAt).toBe(kubeTime(fire));
    expect(scheduled.status.message).toBe(`scheduled for ${kubeTime(fire)} (cron ${cron} Asia/Shanghai)`);
    expect(scheduled.status.startedAt).toBeUndefined();

    await engine.restart(async () => {
      await sleep(1000);
      expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.0.0');
    });
    expect(Date.now()).toBeLessThan(fire.getTime() - 1000);
    // Until the scheduled instant the workload stays as it is, under the new operator too.
    while (Date.now() < fire.getTime() - 500) {
      const r = await engine.release(ns, 'r');
      expect(r.status.phase).toBe('Scheduled');
      expect(r.status.scheduledAt).toBe(kubeTime(fire));
      expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.0.0');
      await sleep(500);
    }
    const done = await engine.waitFor(ns, 'r', (r) => FINISHED.includes(r.status?.phase), 'the scheduled release runs', 30_000);
    expect(done.status.phase).toBe('Succeeded');
    expect(Date.parse(done.status.startedAt)).toBeGreaterThanOrEqual(fire.getTime());
    expect(done.status.scheduledAt).toBe(kubeTime(fire));
    expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.1.0');
    // The new ReplicaSet was made at or after the scheduled instant, and only one rollout happened.
    const replicaSets = (await engine.json(['get', 'replicasets', '-n', ns])).items as { metadata: { creationTimestamp: string; annotations: Record<string, string> }; spec: { template: { spec: { containers: { image: string }[] } } } }[];
    const rolled = replicaSets.filter((rs) => rs.spec.template.spec.containers[0]!.image === 'registry.local/web:1.1.0');
    expect(rolled).toHaveLength(1);
    expect(Date.parse(rolled[0]!.metadata.creationTimestamp)).toBeGreaterThanOrEqual(fire.getTime());
    expect((await engine.json(['get', 'deployment', 'a', '-n', ns])).metadata.annotations['deployment.kubernetes.io/revision']).toBe('2');
    const history = await engine.history(ns, 'r');
    expect(history.deployments.map((d) => `${d.target}:${d.operation}:${d.version}:${d.status}`)).toEqual([`${ns}/a:deploy:1.1.0:succeeded`]);
    expect(history.deployments[0]!.startedAt!.getTime()).toBeGreaterThanOrEqual(fire.getTime());
  }, 70_000);

  it('fails a release whose approval expired; a member of an approver group approves another in time, a non-member may not', async () => {
    const ns = await engine.namespace('expiry');
    await engine.apply(workloads(ns, 'prod', ['a']));
    await engine.apply(`
apiVersion: v1
kind: ConfigMap
metadata: { name: shipway-groups, namespace: ${ns} }
data: { release-managers: "alice, bob" }
---
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: expiring, namespace: ${ns} }
spec:
  project: shop
  version: 1.1.0
  environments: [{ name: prod, promotion: auto, approval: { required: true, approvers: [lead], expirySeconds: 60 } }]
---
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: grouped, namespace: ${ns} }
spec:
  project: shop
  version: 1.2.0
  environments: [{ name: prod, promotion: auto, approval: { required: true, groups: [release-managers], expirySeconds: 60 } }]
`);
    const started = Date.now();
    const asking = await engine.waitFor(ns, 'expiring', (r) => r.status?.phase === 'Approving', 'waits for approval');
    expect(asking.status.environments[0].waitingFor).toBe('approval by lead');
    const pending = (await engine.history(ns, 'expiring')).approvals;
    expect(pending.map((a) => `${a.environment}:${a.status}:${a.approvers.join(',')}`)).toEqual(['prod:pending:lead']);
    const expiresAt = pending[0]!.expiresAt!.getTime();
    expect(expiresAt - pending[0]!.createdAt.getTime()).toBeGreaterThanOrEqual(59_000);
    expect(expiresAt - pending[0]!.createdAt.getTime()).toBeLessThanOrEqual(61_000);

    const grouped = await engine.waitFor(ns, 'grouped', (r) => r.status?.phase === 'Approving', 'the second release waits for approval');
    expect(grouped.status.environments[0].waitingFor).toBe('approval by group release-managers');
    const refused = await act(ns, 'grouped', { 'shipway.dev/action': 'approve', 'shipway.dev/actor': 'mallory' });
    expect(refused.status.lastAction).toMatchObject({ result: 'Rejected', message: 'mallory is not among the approvers of environment prod (group release-managers)' });
    expect(refused.status.phase).toBe('Approving');
    await engine.annotate(ns, 'grouped', { 'shipway.dev/action': 'approve', 'shipway.dev/actor': 'bob', 'shipway.dev/comment': 'ship it' });
    await engine.waitFor(ns, 'grouped', (r) => r.status?.phase === 'Succeeded', 'deploys after a group member approves');
    expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.2.0');
    const decided = await engine.history(ns, 'grouped');
    expect(decided.approvals.map((a) => `${a.environment}:${a.status}:${a.decidedBy}:${a.comment}`)).toEqual(['prod:approved:bob:ship it']);
    expect(decided.auditEvents.map((e) => `${e.action}:${e.actor}:${(e.details as { result: string }).result}`)).toEqual(['approve:mallory:Rejected', 'approve:bob:Applied']);

    // Nobody answers the first one: it fails when the approval expires, not before.
    const failed = await engine.waitFor(ns, 'expiring', (r) => FINISHED.includes(r.status?.phase), 'the unanswered approval expires', 80_000 - (Date.now() - started));
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
    expect(failed.status.phase).toBe('Failed');
    expect(failed.status.message).toContain('expired');
    expect(failed.status.message).toContain('prod');
    expect(condition(failed, 'Failed')).toMatchObject({ status: 'True', reason: 'Failed' });
    expect(Date.parse(failed.status.finishedAt)).toBeGreaterThanOrEqual(Math.floor(expiresAt / 1000) * 1000);
    await expect.poll(async () => (await engine.history(ns, 'expiring')).approvals.map((a) => `${a.environment}:${a.status}:${a.decidedBy ?? ''}`), { timeout: 5000 }).toEqual(['prod:expired:']);
    expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.2.0');
  }, 90_000);

  it('deploys an app after the app it depends on, fails it when that dependency fails, and stalls on a cycle', async () => {
    const ns = await engine.namespace('depends');
    await engine.apply([workloads(ns, 'prod', ['api'], { app: 'api', progressDeadlineSeconds: 3 }), workloads(ns, 'prod', ['web'], { app: 'web' })].join('---\n'));
    const apps = (release: string, prefix: string, apiVersion: string, webVersion: string) => `
apiVersion: shipway.dev/v1alpha1
kind: ReleaseApp
metadata: { name: ${prefix}api, namespace: ${ns} }
spec: { release: ${release}, app: api, version: ${apiVersion}, artifact: { image: registry.local/api }, targets: { names: [api] } }
---
apiVersion: shipway.dev/v1alpha1
kind: ReleaseApp
metadata: { name: ${prefix}web, namespace: ${ns} }
spec:
  release: ${release}
  app: web
  version: ${webVersion}
  artifact: { image: registry.local/web }
  targets: { names: [web] }
  dependsOn: [{ app: api, waitReady: true, timeoutSeconds: 60 }]
`;
    const release = (name: string) => `
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: ${name}, namespace: ${ns} }
spec:
  project: shop
  version: 2.0.0
  environments: [{ name: prod, promotion: auto, strategy: { type: rolling, rolling: { batchSize: 2 } } }]
`;
    // The apps first, so the Release never runs without its dependency graph.
    await engine.apply(`${apps('r', '', '2.0.0', '2.0.0')}---${release('r')}`);
    const done = await engine.waitFor(ns, 'r', (r) => FINISHED.includes(r.status?.phase), 'the release finishes');
    expect(done.status.phase).toBe('Succeeded');
    expect(await engine.image(ns, 'api')).toBe('registry.local/api:2.0.0');
    expect(await engine.image(ns, 'web')).toBe('registry.local/web:2.0.0');
    const history = await engine.history(ns, 'r');
    const row = (app: string) => history.deployments.find((d) => d.app === app)!;
    expect(history.deployments.map((d) => `${d.app}:${d.version}:${d.status}`).sort()).toEqual(['api:2.0.0:succeeded', 'web:2.0.0:succeeded']);
    expect(row('web').startedAt!.getTime()).toBeGreaterThanOrEqual(row('api').finishedAt!.getTime());

    // api never becomes ready (its progress deadline passes): web waits, and its target and its ReleaseApp
    // say so, then fails naming api.
    const seen = { target: new Set<string>(), app: new Set<string>() };
    let watching = true;
    const watchApp = (async () => {
      while (watching) {
        const app = await engine.json(['get', 'releaseapp', 'r2-web', '-n', ns]).catch(() => undefined);
        if (app?.status?.waitingFor) seen.app.add(app.status.waitingFor);
        await sleep(100);
      }
    })();
    await engine.apply(`${apps('r2', 'r2-', '2.1.0-broken', '2.1.0')}---${release('r2').replace('2.0.0', '2.1.0')}`);
    const failed = await engine.waitFor(ns, 'r2', (r) => {
      const web = r.status?.environments?.[0]?.targets?.find((t: { name: string }) => t.name === 'web');
      if (web?.waitingFor) seen.target.add(web.waitingFor);
      return FINISHED.includes(r.status?.phase);
    }, 'the release with a broken dependency finishes', 30_000).finally(() => (watching = false));
    await watchApp;
    expect([...seen.target]).toContain('waiting for api (deploying) to be ready');
    expect([...seen.app]).toContain('web in prod: waiting for api (deploying) to be ready');
    expect(failed.status.phase).toBe('Failed');
    const targets = Object.fromEntries(failed.status.environments[0].targets.map((t: { name: string }) => [t.name, t]));
    expect(targets.api).toMatchObject({ phase: 'Failed', error: expect.stringContaining('progress deadline') });
    expect(targets.web).toMatchObject({ phase: 'Failed', error: 'dependency api failed' });
    expect(failed.status.message).toContain('web: dependency api failed');
    expect(await engine.image(ns, 'web')).toBe('registry.local/web:2.0.0');
    const events = await engine.json(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=r2,reason=DependencyFailed']);
    expect(events.items.map((e: { message: string }) => e.message)).toEqual(['web in prod: dependency api failed']);
    const failedHistory = await engine.history(ns, 'r2');
    expect(failedHistory.deployments.map((d) => `${d.app}:${d.status}`)).toEqual(['api:failed']);

    // A cycle between the apps of a release holds it with the cycle named.
    await engine.apply(`
apiVersion: shipway.dev/v1alpha1
kind: ReleaseApp
metadata: { name: r3-a, namespace: ${ns} }
spec: { release: r3, app: a, version: 1.0.0, artifact: { image: registry.local/a }, dependsOn: [{ app: b }] }
---
apiVersion: shipway.dev/v1alpha1
kind: ReleaseApp
metadata: { name: r3-b, namespace: ${ns} }
spec: { release: r3, app: b, version: 1.0.0, artifact: { image: registry.local/b }, dependsOn: [{ app: a }] }
---${release('r3')}`);
    const stalled = await engine.waitFor(ns, 'r3', (r) => condition(r, 'Stalled')?.status === 'True', 'a dependency cycle stalls the release');
    expect(condition(stalled, 'Stalled')).toMatchObject({ reason: 'InvalidSpec', message: expect.stringContaining('a -> b -> a') });
    expect(stalled.status.phase).toBe('Pending');
    await expect.poll(async () => (await engine.json(['get', 'releaseapp', 'r3-a', '-n', ns])).status?.waitingFor, { timeout: 10_000 }).toContain('a -> b -> a');
    expect(await engine.image(ns, 'api')).toBe('registry.local/api:2.1.0-broken');
  }, 70_000);

  it('gives version auto the next minor version after the project\'s last release, as image tag and RELEASE_VERSION', async () => {
    const ns = await engine.namespace('bump');
    await engine.apply(workloads(ns, 'pre', ['a']));
    await engine.apply(`
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: { name: tell, namespace: ${ns} }
spec:
  stages:
    - name: announce
      phase: post_release
      tasks: [{ id: tell, type: notify, notify: { webhook: { url: '${base}/${ns}/\${RELEASE_NAME}' }, template: '\${RELEASE_VERSION} \${APP_VERSION}' } }]
`);
    const release = (name: string, version: string) => `
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: ${name}, namespace: ${ns} }
spec:
  project: ${ns}
  ${version}
  pipelineRef: { name: tell }
  environments: [{ name: pre, promotion: auto }]
`;
    await engine.apply(release('first', 'version: 1.4.2'));
    await engine.waitFor(ns, 'first', (r) => r.status?.phase === 'Succeeded', 'the first release succeeds');
    await engine.apply(release('next', 'version: auto\n  bump: minor'));
    const done = await engine.waitFor(ns, 'next', (r) => FINISHED.includes(r.status?.phase), 'the auto-versioned release finishes');
    expect(done.status.phase).toBe('Succeeded');
    expect(done.status.version).toBe('1.5.0');
    expect(done.spec.version).toBe('auto');
    expect(done.status.environments[0].targets[0]).toMatchObject({ version: '1.5.0', previousVersion: '1.4.2' });
    expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.5.0');
    expect((await engine.history(ns, 'next')).release.version).toBe('1.5.0');
    expect(received.filter((r) => r.path.startsWith(`/${ns}/`)).map((r) => `${r.path}:${r.body.text}`)).toEqual([`/${ns}/first:1.4.2 1.4.2`, `/${ns}/next:1.5.0 1.5.0`]);
  }, 70_000);

  it('rolls back quickly to the previous image, or by redeploying an older version as a new Release', async () => {
    const ns = await engine.namespace('rollback');
    await engine.apply(workloads(ns, 'pre', ['a']));
    // Argo CD's (legacy) tracking label must not follow the copy: Argo CD would prune it as missing from git.
    const release = (name: string, version: string) => `
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: ${name}, namespace: ${ns}, labels: { team: shop, app.kubernetes.io/instance: shop-gitops } }
spec:
  project: ${ns}
  version: ${version}
  environments: [{ name: pre, promotion: manual }]
---
apiVersion: shipway.dev/v1alpha1
kind: ReleaseApp
metadata: { name: ${name}-web, namespace: ${ns} }
spec: { release: ${name}, app: web, version: ${version}, artifact: { image: registry.local/web } }
`;
    for (const [name, version] of [['r1', '1.1.0'], ['r2', '1.2.0']] as const) {
      await engine.apply(release(name, version));
      await engine.waitFor(ns, name, (r) => r.status?.phase === 'Waiting', `${name} waits for a start`);
      await engine.annotate(ns, name, { 'shipway.dev/action': 'start', 'shipway.dev/actor': 'ops' });
      await engine.waitFor(ns, name, (r) => r.status?.phase === 'Succeeded', `${name} succeeds`);
    }
    expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.2.0');

    // redeploy: a new Release (and ReleaseApp) of 1.1.0, with the app versions 1.1.0 had in history.
    const redeployed = await act(ns, 'r2', { 'shipway.dev/action': 'rollback', 'shipway.dev/actor': 'lead', 'shipway.dev/rollback-kind': 'redeploy', 'shipway.dev/rollback-version': '1.1.0', 'shipway.dev/comment': 'bad build' });
    expect(redeployed.status.lastAction).toMatchObject({
      result: 'Applied',
      message: 'redeploy of version 1.1.0 created as Release r2-redeploy-1.1.0 (web 1.1.0); it goes through the full pipeline',
    });
    expect(redeployed.status.phase).toBe('Succeeded');
    expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.2.0');
    const copy = await engine.release(ns, 'r2-redeploy-1.1.0');
    expect(copy.spec).toMatchObject({ project: ns, version: '1.1.0', environments: [{ name: 'pre', promotion: 'manual' }] });
    expect(copy.metadata.annotations).toMatchObject({ 'shipway.dev/redeploy-of': `${ns}/r2`, 'shipway.dev/created-by': 'lead' });
    expect((await engine.release(ns, 'r2')).metadata.labels).toEqual({ team: 'shop', 'app.kubernetes.io/instance': 'shop-gitops' });
    expect(copy.metadata.labels).toEqual({ team: 'shop' });
    const app = await engine.json(['get', 'releaseapp', 'r2-web-redeploy-1.1.0', '-n', ns]);
    expect(app.spec).toMatchObject({ release: 'r2-redeploy-1.1.0', app: 'web', version: '1.1.0' });
    const audit = (await engine.history(ns, 'r2')).auditEvents.at(-1)!;
    expect(audit).toMatchObject({ action: 'rollback', actor: 'lead', details: expect.objectContaining({ result: 'Applied', rollbackKind: 'redeploy', rollbackVersion: '1.1.0' }) });

    // It goes through the pipeline like any release: it waits for its start, then deploys the older image.
    await engine.waitFor(ns, 'r2-redeploy-1.1.0', (r) => r.status?.phase === 'Waiting', 'the redeploy waits for a start');
    await engine.annotate(ns, 'r2-redeploy-1.1.0', { 'shipway.dev/action': 'start', 'shipway.dev/actor': 'lead' });
    const back = await engine.waitFor(ns, 'r2-redeploy-1.1.0', (r) => FINISHED.includes(r.status?.phase), 'the redeploy finishes');
    expect(back.status.phase).toBe('Succeeded');
    expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.1.0');
    const history = await engine.history(ns, 'r2-redeploy-1.1.0');
    expect(history.release.version).toBe('1.1.0');
    expect(history.releaseApps.map((a) => `${a.name}:${a.app}:${a.version}`)).toEqual(['r2-web-redeploy-1.1.0:web:1.1.0']);
    expect(history.deployments.map((d) => `${d.app}:${d.operation}:${d.version}:${d.previousVersion}:${d.status}`)).toEqual(['web:deploy:1.1.0:1.2.0:succeeded']);

    // quick (the default): the targets go back to what they ran before this release.
    await engine.annotate(ns, 'r2-redeploy-1.1.0', { 'shipway.dev/action': 'rollback', 'shipway.dev/actor': 'ops' });
    const quick = await engine.waitFor(ns, 'r2-redeploy-1.1.0', (r) => r.status?.phase === 'RolledBack', 'the quick rollback ends RolledBack');
    expect(quick.status.lastAction).toMatchObject({ action: 'rollback', actor: 'ops', result: 'Applied' });
    expect(quick.status.environments[0].targets[0]).toMatchObject({ name: 'a', phase: 'RolledBack', previousVersion: '1.2.0' });
    expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.2.0');
    const rolled = await engine.history(ns, 'r2-redeploy-1.1.0');
    expect(rolled.deployments.filter((d) => d.operation === 'rollback').map((d) => `${d.app}:${d.version}:${d.status}`)).toEqual(['web:1.2.0:succeeded']);
    expect((await engine.json(['get', 'releases', '-n', ns])).items.map((r: { metadata: { name: string } }) => r.metadata.name).sort()).toEqual(['r1', 'r2', 'r2-redeploy-1.1.0']);
  }, 70_000);

  it('freezes instead of rolling back past a db_migrate; a plain rollback is refused, a forced one rolls back', async () => {
    const ns = await engine.namespace('migrate');
    await engine.apply(workloads(ns, 'pre', ['a']));
    await engine.apply(`
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: { name: migrating, namespace: ${ns} }
spec:
  stages:
    - { name: schema, phase: pre_release, tasks: [{ id: migrate, type: db_migrate, dbMigrate: { image: 'registry.local/migrate:1', command: 'migrate up' } }] }
    - name: check
      phase: post_release
      tasks: [{ id: health, type: health_check, healthCheck: { type: http, url: '${base}/unhealthy', retry: 0, intervalSeconds: 1, timeoutSeconds: 2 } }]
---
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: r, namespace: ${ns} }
spec:
  project: shop
  version: 1.1.0
  pipelineRef: { name: migrating }
  rollback: { auto: true }
  environments: [{ name: pre, promotion: auto }]
`);
    const frozen = await engine.waitFor(ns, 'r', (r) => FINISHED.includes(r.status?.phase), 'the release stops');
    expect(frozen.status.phase).toBe('Failed');
    const env = frozen.status.environments[0];
    expect(env.frozen).toMatch(/^rollback refused: a db_migrate task ran on a; the release is frozen \(roll back with shipway.dev\/force: "true", or retry\) after a: .*503/);
    expect(env.targets[0]).toMatchObject({ name: 'a', phase: 'Failed', migrated: true });
    expect(frozen.status.message).toBe(env.frozen);
    expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.1.0');
    const jobs = await engine.json(['get', 'jobs', '-n', ns]);
    expect(jobs.items.map((j: { spec: { template: { spec: { containers: { image: string; command: string[] }[] } } } }) => j.spec.template.spec.containers[0])).toEqual([
      expect.objectContaining({ image: 'registry.local/migrate:1', command: ['/bin/sh', '-c', 'migrate up'] }),
    ]);

    const refused = await act(ns, 'r', { 'shipway.dev/action': 'rollback', 'shipway.dev/actor': 'ops' });
    expect(refused.status.lastAction).toMatchObject({ result: 'Rejected', message: 'a db_migrate task has run on a: a rollback past it needs shipway.dev/force: "true"' });
    expect(refused.status.phase).toBe('Failed');
    expect(refused.status.environments[0].frozen).toBe(env.frozen);
    expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.1.0');

    await engine.annotate(ns, 'r', { 'shipway.dev/action': 'rollback', 'shipway.dev/actor': 'lead', 'shipway.dev/force': 'true', 'shipway.dev/comment': 'schema is backwards compatible' });
    const rolled = await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'RolledBack', 'the forced rollback ends RolledBack');
    expect(rolled.status.environments[0].frozen).toBeUndefined();
    expect(rolled.status.environments[0].targets[0]).toMatchObject({ phase: 'RolledBack' });
    expect(rolled.status.message).toContain('rollback requested by lead: schema is backwards compatible');
    expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.0.0');
    const history = await engine.history(ns, 'r');
    expect(history.deployments.map((d) => `${d.operation}:${d.version}:${d.status}`)).toEqual(['deploy:1.1.0:rolled_back', 'rollback:1.0.0:succeeded']);
    expect(history.deployments[0]!.stageRuns.map((s) => `${s.stage}:${s.taskRuns.map((t) => `${t.taskId}=${t.status}`).join(',')}`)).toEqual(['schema:migrate=succeeded', 'deploy:deploy=succeeded', 'check:health=failed']);
    expect(history.auditEvents.map((e) => `${e.action}:${e.actor}:${(e.details as { result: string; force?: boolean }).result}:${(e.details as { force?: boolean }).force ?? false}`)).toEqual([
      'rollback:ops:Rejected:false', 'rollback:lead:Applied:true',
    ]);
  }, 70_000);
});
