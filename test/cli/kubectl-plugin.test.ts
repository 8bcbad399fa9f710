/**
 * `kubectl shipway` end to end: the real kubectl finds bin/kubectl-shipway.js on PATH as a plugin and runs it
 * against the API emulator with the operator running. Status prints the progress view, the actions are
 * answered by the operator (applied and refused), status --watch follows a release to its end, history shows
 * the deployments, and -o json|yaml parse.
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT, run } from '../conformance/cluster.ts';
import { holdingPipeline, useEngine, workloads } from '../engine/engine-fixture.ts';

const engine = useEngine();
const plugins = mkdtempSync(join(tmpdir(), 'kubectl-plugins-'));
// kubectl runs an executable named kubectl-<name> from PATH for `kubectl <name>`: the npm bin, under its name.
symlinkSync(join(ROOT, 'bin/kubectl-shipway.js'), join(plugins, 'kubectl-shipway'));
afterAll(() => rmSync(plugins, { recursive: true, force: true }));

/** `kubectl shipway <args>` as a user types it; the plugin gets the cluster from KUBECONFIG, as kubectl does. */
const shipway = async (...args: string[]) => {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${plugins}${delimiter}${process.env.PATH}`, KUBECONFIG: engine.cluster.kubeconfigPath, HOME: plugins, NO_COLOR: '1' };
  // The suite's DATABASE_URL is not this operator's database; with it, history would read from there.
  delete env.DATABASE_URL;
  const result = await run('/usr/bin/kubectl', ['shipway', ...args], env, { timeoutMs: 120_000 });
  return { code: result.code, out: result.stdout, err: result.stderr };
};

describe('kubectl shipway', () => {
  it('shows a release, drives it through both environments with actions the operator answers, follows it to the end and shows its history', async () => {
    const ns = await engine.namespace('plugin');
    await engine.apply(workloads(ns, 'pre', ['a']));
    await engine.apply(workloads(ns, 'prod', ['b']));
    await engine.apply(`
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: r, namespace: ${ns} }
spec:
  project: shop
  version: 1.1.0
  environments:
    - { name: pre, promotion: manual }
    - { name: prod, promotion: manual, approval: { required: true, approvers: [bob] } }
---
apiVersion: shipway.dev/v1alpha1
kind: ReleaseApp
metadata: { name: r-web, namespace: ${ns} }
spec: { release: r, app: web, version: 1.1.0, artifact: { image: registry.local/web } }
`);
    await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Waiting', 'waits for start');

    const status = await shipway('status', 'r', '-n', ns);
    expect(status).toMatchObject({ code: 0, err: '' });
    expect(status.out).toContain(`Release ${ns}/r  1.1.0  … Waiting  in pre`);
    expect(status.out).toMatch(/^ {2}… pre {3}Waiting/m);

    // The actor defaults to the kubeconfig's user; the answer is the operator's message.
    const user = engine.cluster.kubeConfig().getCurrentUser()!.name;
    const pause = await shipway('pause', 'r', '-n', ns);
    expect(pause).toMatchObject({ code: 0, out: `pause of release ${ns}/r applied: paused by ${user}\n` });
    const resume = await shipway('resume', 'r', '-n', ns, '--as', 'ops', '-o', 'json');
    expect(resume.code).toBe(0);
    expect(JSON.parse(resume.out)).toMatchObject({ action: 'resume', actor: 'ops', result: 'Applied', message: 'resumed by ops' });
    const again = await shipway('resume', 'r', '-n', ns);
    expect(again).toMatchObject({ code: 1, err: `resume of release ${ns}/r refused: the release is not paused\n` });

    const start = await shipway('start', 'r', '-n', ns, '--environment', 'pre', '--as', 'alice');
    expect(start).toMatchObject({ code: 0, out: `start of release ${ns}/r applied: start by alice: environment pre started\n` });

    await engine.waitFor(ns, 'r', (r) => r.status?.currentEnvironment === 'prod' && r.status.environments?.[1]?.phase === 'Waiting', 'prod waits');
    expect(await shipway('promote', 'r', '-n', ns, '--environment', 'prod', '--as', 'alice')).toMatchObject({ code: 0 });
    await engine.waitFor(ns, 'r', (r) => r.status?.environments?.[1]?.phase === 'Approving', 'prod waits for approval');
    const stranger = await shipway('approve', 'r', '-n', ns, '--as', 'mallory');
    expect(stranger).toMatchObject({ code: 1, err: expect.stringContaining(`approve of release ${ns}/r refused: mallory is not among the approvers of environment prod`) });
    const approve = await shipway('approve', 'r', '-n', ns, '--as', 'bob', '--comment', 'checked pre', '-o', 'yaml');
    expect(approve.code).toBe(0);
    expect(parse(approve.out)).toMatchObject({ action: 'approve', actor: 'bob', result: 'Applied', message: 'approved by bob: environment prod' });

    // Not a terminal: each new view is printed, and the command ends with the release.
    const watched = await shipway('status', 'r', '-n', ns, '--watch');
    expect(watched.code).toBe(0);
    const lastView = watched.out.trimEnd().split('\n\n').slice(-3).join('\n\n');
    expect(lastView).toContain(`Release ${ns}/r  1.1.0  ✔ Succeeded  2/2 targets ██████████`);
    expect(lastView).toMatch(/✔ a\s+Succeeded\s+1\.0\.0 → 1\.1\.0\s+██████████/);
    expect(lastView).toMatch(/✔ b\s+Succeeded\s+1\.0\.0 → 1\.1\.0\s+██████████/);

    const history = await shipway('history', 'r', '-n', ns, '-o', 'json');
    expect(history.code).toBe(0);
    const report = JSON.parse(history.out) as { deployments: { environment: string; target: string; app: string; version: string; status: string }[]; actions: { result: string; message?: string; actor?: string }[] };
    expect(report.deployments.map((d) => `${d.environment}/${d.target}/${d.app}:${d.version}:${d.status}`)).toEqual(['pre/a/web:1.1.0:Succeeded', 'prod/b/web:1.1.0:Succeeded']);
    expect(report.actions.map((a) => `${a.result}:${a.message}`)).toEqual(expect.arrayContaining([
      `Applied:paused by ${user}`, 'Applied:resumed by ops', 'Rejected:the release is not paused', 'Applied:start by alice: environment pre started', 'Applied:approved by bob: environment prod',
    ]));
    const table = await shipway('history', 'r', '-n', ns);
    expect(table.out).toContain(`Release ${ns}/r  1.1.0  Succeeded`);
    expect(table.out).toMatch(/^prod\s+b\s+web\s+1\.0\.0 → 1\.1\.0\s+Succeeded\s+1\s/m);
  }, 240_000);

  it('cancels a running release, and a second cancel is refused with the reason', async () => {
    const ns = await engine.namespace('plugin-cancel');
    await engine.apply(workloads(ns, 'pre', ['a']));
    await engine.apply(`${holdingPipeline(ns)}---
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: slow, namespace: ${ns} }
spec: { project: shop, version: 1.1.0, pipelineRef: { name: slow }, environments: [{ name: pre, promotion: auto }] }
`);
    await engine.waitFor(ns, 'slow', (r) => r.status?.environments?.[0]?.targets?.[0]?.currentStep?.startsWith('hold/hold'), 'the wait task runs');
    const cancel = await shipway('cancel', 'slow', '-n', ns, '--as', 'ops', '--comment', 'wrong build');
    expect(cancel).toMatchObject({ code: 0, out: `cancel of release ${ns}/slow applied: cancelled by ops\n` });
    expect((await engine.release(ns, 'slow')).status.message).toBe('cancelled by ops: wrong build');
    const again = await shipway('cancel', 'slow', '-n', ns);
    expect(again).toMatchObject({ code: 1, err: `cancel of release ${ns}/slow refused: the release is already Cancelled\n` });
    const watched = await shipway('status', 'slow', '-n', ns, '-w');
    expect(watched.code).toBe(1);
    expect(watched.out).toContain('⊘ Cancelled');
  }, 120_000);

  it('switches a ReleaseApp to the new tag CI reported while its release waits, and is refused once the release has ended', async () => {
    const ns = await engine.namespace('plugin-switch');
    await engine.apply(workloads(ns, 'pre', ['a']));
    await engine.apply(`
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: r, namespace: ${ns} }
spec: { project: shop, version: 1.1.0, environments: [{ name: pre, promotion: manual }] }
---
apiVersion: shipway.dev/v1alpha1
kind: ReleaseApp
metadata: { name: r-web, namespace: ${ns} }
spec: { release: r, app: web, version: 1.1.0, artifact: { image: registry.local/web } }
`);
    await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Waiting', 'waits for start');
    // What Drone does after a good build.
    await engine.cluster.kubectlOk(['annotate', 'releaseapp', 'r-web', '-n', ns, 'shipway.dev/new-tag=1.2.0', 'shipway.dev/build=42']);
    await expect.poll(async () => (await engine.json(['get', 'releaseapp', 'r-web', '-n', ns])).status?.newTag?.tag, { timeout: 30_000 }).toBe('1.2.0');

    const switched = await shipway('switch-version', 'r-web', '-n', ns, '--as', 'dev', '--comment', 'build 42 passed');
    expect(switched).toMatchObject({ code: 0, err: '', out: expect.stringMatching(new RegExp(`^switch-version of releaseapp ${ns}/r-web applied: .*1\\.2\\.0`)) });
    expect((await engine.json(['get', 'releaseapp', 'r-web', '-n', ns])).status.lastAction).toMatchObject({ action: 'switch-version', actor: 'dev', result: 'Applied' });

    await engine.annotate(ns, 'r', { 'shipway.dev/action': 'cancel' });
    await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Cancelled', 'cancelled');
    const late = await shipway('switch-version', 'r-web', '-n', ns, '--version', '1.3.0');
    expect(late).toMatchObject({ code: 1, err: expect.stringContaining(`switch-version of releaseapp ${ns}/r-web refused: cannot switch to 1.3.0: release r is Cancelled`) });
  }, 120_000);
});
