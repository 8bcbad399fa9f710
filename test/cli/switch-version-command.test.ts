/**
 * `switch-version` on a ReleaseApp, against the API emulator with no operator: this test plays the operator's
 * part (its answer in the ReleaseApp's status.lastAction, the annotation removed), so it checks exactly what
 * the command writes and how it reads the answer, whatever the operator decides.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../operator/src/cli/main.ts';
import type { Cluster } from '../conformance/cluster.ts';
import { startCrdCluster } from '../engine/engine-fixture.ts';
import { eventually } from '../support/until.ts';

let cluster: Cluster;
const ns = 'switch';
beforeAll(async () => {
  cluster = await startCrdCluster();
  await cluster.kubectlOk(['create', 'namespace', ns]);
  await cluster.kubectlOk(['apply', '-f', '-'], { input: `
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: r, namespace: ${ns} }
spec: { project: shop, version: 1.1.0, environments: [{ name: pre }] }
---
apiVersion: shipway.dev/v1alpha1
kind: ReleaseApp
metadata: { name: r-web, namespace: ${ns} }
spec: { release: r, app: web, version: 1.1.0, artifact: { image: registry.local/web } }
---
apiVersion: shipway.dev/v1alpha1
kind: ReleaseApp
metadata: { name: r-api, namespace: ${ns} }
spec: { release: r, app: api, version: 1.1.0, artifact: { image: registry.local/api } }
` });
  await patchStatus('r-web', { newTag: { tag: '1.2.0', build: '42', detectedAt: '2026-01-01T10:00:00Z' }, hasNewTag: true });
}, 90_000);
afterAll(async () => {
  await cluster?.stop();
});

async function patchStatus(name: string, status: Record<string, unknown>) {
  await cluster.kubectlOk(['patch', 'releaseapp', name, '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
}
/** The Shipway annotations of a ReleaseApp (kubectl apply adds its own). */
const annotations = async (name: string): Promise<Record<string, string>> =>
  Object.fromEntries(Object.entries<string>(JSON.parse(await cluster.kubectlOk(['get', 'releaseapp', name, '-n', ns, '-o', 'json'])).metadata.annotations ?? {}).filter(([k]) => k.startsWith('shipway.dev/')));
const shipway = (...args: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const done = main([...args, '-n', ns, '--kubeconfig', cluster.kubeconfigPath, '--timeout', '60'], { out: (l) => out.push(l), err: (l) => err.push(l) });
  return done.then((code) => ({ code, out: out.join('\n'), err: err.join('\n') }));
};
/** The operator's part: its answer, then the annotations removed (in that order, as the operator does it). */
async function answer(name: string, result: 'Applied' | 'Rejected', message: string, at: string) {
  await eventually(async () => (await annotations(name))['shipway.dev/action'] === 'switch-version', { timeoutMs: 30_000 });
  const written = await annotations(name);
  await patchStatus(name, { lastAction: { action: 'switch-version', actor: written['shipway.dev/actor'], result, message, at } });
  await cluster.kubectlOk(['annotate', 'releaseapp', name, '-n', ns, 'shipway.dev/action-', 'shipway.dev/actor-', 'shipway.dev/comment-', 'shipway.dev/version-']);
  return written;
}

describe('switch-version', () => {
  it("asks for the new tag by default, with actor and comment, and exits 0 on the operator's Applied", async () => {
    const command = shipway('switch-version', 'r-web', '--as', 'dev', '--comment', 'build 42 passed');
    const written = await answer('r-web', 'Applied', 'switched to 1.2.0 (build 42); deployment superseded', '2026-01-01T10:01:00Z');
    expect(written).toEqual({ 'shipway.dev/action': 'switch-version', 'shipway.dev/actor': 'dev', 'shipway.dev/comment': 'build 42 passed' });
    expect(await command).toEqual({ code: 0, out: `switch-version of releaseapp ${ns}/r-web applied: switched to 1.2.0 (build 42); deployment superseded`, err: '' });
  }, 60_000);

  it('names the version given, and exits 1 with the reason when the operator refuses', async () => {
    const command = shipway('switch-version', 'r-web', '--version', '1.3.0', '--as', 'dev', '-o', 'json');
    const written = await answer('r-web', 'Rejected', 'release r is Deploying; switch while it is Waiting', '2026-01-01T10:02:00Z');
    expect(written).toEqual({ 'shipway.dev/action': 'switch-version', 'shipway.dev/actor': 'dev', 'shipway.dev/version': '1.3.0' });
    const result = await command;
    expect(result.code).toBe(1);
    expect(JSON.parse(result.out)).toMatchObject({ action: 'switch-version', result: 'Rejected' });
    expect(result.err).toBe(`switch-version of releaseapp ${ns}/r-web refused: release r is Deploying; switch while it is Waiting`);
  }, 60_000);

  it('refuses while an earlier action waits for the operator, and without a new tag or --version', async () => {
    await cluster.kubectlOk(['annotate', 'releaseapp', 'r-web', '-n', ns, 'shipway.dev/action=switch-version']);
    expect(await shipway('switch-version', 'r-web', '--version', '1.3.0')).toMatchObject({
      code: 1, err: `releaseapp ${ns}/r-web has an action the operator has not taken yet (shipway.dev/action: switch-version); try again in a moment`,
    });
    expect(await shipway('switch-version', 'r-api')).toMatchObject({
      code: 1, err: `releaseapp ${ns}/r-api: it has no new tag (status.newTag); name the version with --version`,
    });
    expect(await shipway('switch-version', 'r-gone', '--version', '1.3.0')).toMatchObject({ code: 1, err: `releaseapp ${ns}/r-gone not found` });
    expect(await annotations('r-api')).toEqual({});
  }, 60_000);
});
