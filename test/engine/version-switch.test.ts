/**
 * New image tags from CI and the ReleaseApp version switch, end to end on the API emulator: the build webhook
 * (signed, on the operator's HTTP endpoint) annotates the ReleaseApps of active releases, their status shows
 * the new tag, and `switch-version` moves the version in effect only while the Release is Waiting, with the
 * history's deployments superseded. Everything a user does goes through kubectl.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { holdingPipeline, useEngine, workloads } from './engine-fixture.ts';
import { eventually } from '../support/until.ts';

const SECRET = 'drone-shared-secret-for-tests';
const engine = useEngine({ httpPort: 0, httpHost: '127.0.0.1', webhookSecret: SECRET });

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- kubectl -o json
type Json = any;

async function notify(body: unknown, sign: 'hmac' | 'bearer' | 'wrong' | 'none' = 'hmac'): Promise<{ status: number; body: Json }> {
  const text = JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (sign === 'hmac') headers['x-shipway-signature'] = `sha256=${createHmac('sha256', SECRET).update(text).digest('hex')}`;
  if (sign === 'wrong') headers['x-shipway-signature'] = `sha256=${createHmac('sha256', 'not-the-secret').update(text).digest('hex')}`;
  if (sign === 'bearer') headers.authorization = `Bearer ${SECRET}`;
  const response = await fetch(`http://127.0.0.1:${engine.operator.httpPort}/api/v1/builds/notify`, { method: 'POST', headers, body: text });
  return { status: response.status, body: await response.json() };
}

const app = (ns: string) => engine.json(['get', 'releaseapp', 'r-web', '-n', ns]);

async function appUntil(ns: string, check: (a: Json) => boolean, what: string): Promise<Json> {
  let last: Json;
  await eventually(async () => check((last = await app(ns))), { timeoutMs: 30_000, message: () => `${what}; ReleaseApp status: ${JSON.stringify(last?.status, null, 1)}\n${engine.logs.slice(-20).join('\n')}` });
  return last;
}

async function annotateApp(ns: string, annotations: Record<string, string>): Promise<void> {
  await engine.cluster.kubectlOk(['annotate', '--overwrite', 'releaseapp', 'r-web', '-n', ns, ...Object.entries(annotations).map(([k, v]) => `${k}=${v}`)]);
}

/** Two environments: pre deploys at once, prod waits for a manual start (the Release is then Waiting). */
function releaseWithApp(ns: string, pipeline = ''): string {
  return `${workloads(ns, 'pre', ['pre-web'])}---
${workloads(ns, 'prod', ['prod-web'])}---
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: r, namespace: ${ns} }
spec:
  project: shop
  version: 1.1.0
${pipeline}
  environments:
    - { name: pre, promotion: auto }
    - { name: prod, promotion: manual }
---
apiVersion: shipway.dev/v1alpha1
kind: ReleaseApp
metadata: { name: r-web, namespace: ${ns} }
spec: { release: r, app: web, version: 1.1.0, artifact: { image: registry.local/web } }
`;
}

const waitingForProd = (r: Json) => r.status?.phase === 'Waiting' && r.status?.currentEnvironment === 'prod';

describe('new tags from CI', () => {
  it('a signed build notification shows the new tag on the ReleaseApps of active releases; failed builds and bad credentials change nothing', async () => {
    const ns = await engine.namespace('newtag');
    await engine.apply(releaseWithApp(ns));
    await engine.waitFor(ns, 'r', waitingForProd, 'pre is deployed and prod waits');

    const failed = await notify({ build_number: 41, build_status: 'failure', apps: [{ name: 'web', image_tag: '1.2.0' }] });
    expect(failed).toEqual({ status: 202, body: { build: '41', ignored: true, reason: 'build 41 is failure: only successful builds count' } });
    const wrong = await notify({ build_number: 42, build_status: 'success', apps: [{ name: 'web', image_tag: '1.2.0' }] }, 'wrong');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toContain('does not match the body');
    expect((await notify({ build_number: 42, build_status: 'success', apps: [{ name: 'web', image_tag: '1.2.0' }] }, 'none')).status).toBe(401);
    const invalid = await notify({ build_number: 42, build_status: 'success', apps: [{ name: 'web', image_tag: 'has space' }] });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toContain('apps[0].image_tag: Invalid value: "has space"');
    expect((await app(ns)).metadata.annotations?.['shipway.dev/new-tag']).toBeUndefined();

    // A tag annotated by hand that is not one is said in a condition, not shown as a new tag.
    await annotateApp(ns, { 'shipway.dev/new-tag': 'not a tag' });
    const bad = await appUntil(ns, (a) => a.status?.conditions?.some((c: Json) => c.type === 'NewTag'), 'the bad tag is reported');
    expect(bad.status.conditions.find((c: Json) => c.type === 'NewTag')).toMatchObject({ status: 'False', reason: 'InvalidTag', message: expect.stringContaining('annotation shipway.dev/new-tag: Invalid value: "not a tag"') });
    expect(bad.status.newTag).toBeUndefined();

    const ok = await notify({ build_number: 42, build_status: 'success', apps: [{ name: 'web', image_tag: '1.2.0' }, { name: 'nobody', image_tag: '9.9.9' }] }, 'bearer');
    expect(ok.status).toBe(200);
    expect(ok.body.annotated).toContainEqual({ namespace: ns, name: 'r-web', app: 'web', tag: '1.2.0' });
    expect(ok.body.noActiveRelease).toEqual(['nobody']);
    const shown = await appUntil(ns, (a) => a.status?.newTag?.tag === '1.2.0', 'the ReleaseApp shows the new tag');
    expect(shown.status.conditions.some((c: Json) => c.type === 'NewTag')).toBe(false);
    expect(shown.status).toMatchObject({ newTag: { tag: '1.2.0', build: '42' }, hasNewTag: true, version: '1.1.0' });
    expect(shown.metadata.annotations).toMatchObject({ 'shipway.dev/new-tag': '1.2.0', 'shipway.dev/build': '42' });
    // The spec is Argo CD's: the new tag never reaches it.
    expect(shown.spec.version).toBe('1.1.0');
    const row = await engine.operator.repo.getReleaseAppByUid(shown.metadata.uid);
    expect(row).toMatchObject({ version: '1.1.0', newTag: '1.2.0', newBuild: '42' });
  }, 120_000);
});

describe('switch-version', () => {
  it('while Waiting switches to the new tag, supersedes the earlier deployment, and the next environment deploys it; a repeat changes nothing', async () => {
    const ns = await engine.namespace('switch');
    await engine.apply(releaseWithApp(ns));
    await engine.waitFor(ns, 'r', waitingForProd, 'pre is deployed and prod waits');
    expect(await engine.image(ns, 'pre-web')).toBe('registry.local/web:1.1.0');
    await notify({ build_number: 7, build_status: 'success', apps: [{ name: 'web', image_tag: '1.2.0' }] });
    await appUntil(ns, (a) => a.status?.hasNewTag === true, 'the new tag is shown');

    await annotateApp(ns, { 'shipway.dev/action': 'switch-version', 'shipway.dev/actor': 'alice' });
    const switched = await appUntil(ns, (a) => a.status?.lastAction?.action === 'switch-version' && a.metadata.annotations?.['shipway.dev/action'] === undefined, 'the switch is answered and its annotations removed');
    expect(switched.status.lastAction).toMatchObject({ result: 'Applied', actor: 'alice', message: expect.stringContaining('switched from 1.1.0 to 1.2.0 by alice; 1 deployment(s) superseded') });
    expect(switched.status).toMatchObject({ version: '1.2.0', hasNewTag: false });
    expect(switched.spec.version).toBe('1.1.0');
    let history = await engine.history(ns, 'r');
    const pre = history.deployments.filter((d) => d.target === `${ns}/pre-web`);
    expect(pre.map((d) => [d.version, d.status, d.superseded])).toEqual([['1.1.0', 'succeeded', true], ['1.2.0', 'pending', false]]);
    expect(pre[0]!.supersededBy).toBe(pre[1]!.id);
    expect(pre[0]!.supersededAt).toBeInstanceOf(Date);

    // The same switch again: answered, and nothing new in the history.
    await annotateApp(ns, { 'shipway.dev/action': 'switch-version', 'shipway.dev/version': '1.2.0' });
    const again = await appUntil(ns, (a) => a.status?.lastAction?.message?.startsWith('already at') && a.metadata.annotations?.['shipway.dev/action'] === undefined, 'the repeat is answered');
    expect(again.status.lastAction.result).toBe('Applied');
    expect((await engine.history(ns, 'r')).deployments).toHaveLength(history.deployments.length);

    await engine.annotate(ns, 'r', { 'shipway.dev/action': 'start' });
    await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Succeeded', 'prod is deployed');
    expect(await engine.image(ns, 'prod-web')).toBe('registry.local/web:1.2.0');
    expect(await engine.image(ns, 'pre-web')).toBe('registry.local/web:1.1.0');
    history = await engine.history(ns, 'r');
    expect(history.deployments.filter((d) => d.target === `${ns}/prod-web`).map((d) => [d.version, d.status])).toEqual([['1.2.0', 'succeeded']]);
  }, 150_000);

  it('while Deploying is refused with the reason, the new tag stays visible, and a spec.version change waits for the release to be Waiting', async () => {
    const ns = await engine.namespace('refuse');
    await engine.apply(`${holdingPipeline(ns)}---
${releaseWithApp(ns, '  pipelineRef: { name: slow }')}`);
    await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Deploying' && r.status?.environments?.[0]?.targets?.[0]?.currentStep?.startsWith('hold/hold'), 'pre is deploying');
    await notify({ build_number: 8, build_status: 'success', apps: [{ name: 'web', image_tag: '1.3.0' }] });
    await appUntil(ns, (a) => a.status?.newTag?.tag === '1.3.0', 'the new tag is shown while deploying');

    await annotateApp(ns, { 'shipway.dev/action': 'switch-version', 'shipway.dev/actor': 'bob' });
    const refused = await appUntil(ns, (a) => a.status?.lastAction?.actor === 'bob' && a.metadata.annotations?.['shipway.dev/action'] === undefined, 'the switch is answered');
    expect(refused.status.lastAction).toMatchObject({ result: 'Rejected', message: 'cannot switch to 1.3.0: release r is Deploying: the version can only be switched while the release is Waiting (before an environment starts)' });
    expect(refused.status).toMatchObject({ version: '1.1.0', hasNewTag: true, newTag: { tag: '1.3.0' } });

    // GitOps: spec.version changes in git while the release deploys; it waits, said in a condition.
    await engine.cluster.kubectlOk(['patch', 'releaseapp', 'r-web', '-n', ns, '--type', 'merge', '-p', '{"spec":{"version":"1.4.0"}}']);
    const waiting = await appUntil(ns, (a) => a.status?.conditions?.some((c: Json) => c.type === 'VersionSwitched' && c.reason === 'SwitchWaiting'), 'the spec change waits');
    expect(waiting.status).toMatchObject({ version: '1.1.0', specVersion: '1.1.0' });
    expect(waiting.status.conditions.find((c: Json) => c.type === 'VersionSwitched').message).toContain('spec.version 1.4.0 is not in effect yet (1.1.0 is): release r is Deploying');
    const row = await engine.operator.repo.getReleaseAppByUid(waiting.metadata.uid);
    expect(row!.version).toBe('1.1.0');
    await engine.annotate(ns, 'r', { 'shipway.dev/action': 'cancel' });
    await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Cancelled', 'cancelled');
  }, 150_000);
});
