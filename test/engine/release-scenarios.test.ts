/**
 * Release scenarios on the API emulator through kubectl: automatic rollback of a broken canary, invalid
 * Releases, the actions (pause, resume, start, cancel, retry, rollback of one target), with history checked
 * in the operator's database.
 */
import { describe, expect, it } from 'vitest';
import { holdingPipeline, useEngine, workloads } from './engine-fixture.ts';
import { main } from '../../operator/src/cli/main.ts';

// Retention keeps two finished Releases per namespace; the scenarios make at most two each, but one.
const engine = useEngine({ keepFinished: 2 });

const release = (namespace: string, name: string, body: string) => `
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  project: shop
  version: 1.1.0
${body}`;


const condition = (r: { status?: { conditions?: { type: string }[] } }, type: string) => r.status?.conditions?.find((c) => c.type === type) as { status: string; reason: string; message: string } | undefined;

describe('release scenarios', () => {
  it('rolls a canary whose image is -broken back automatically and ends RolledBack with the reason', async () => {
    const ns = await engine.namespace('canary');
    await engine.apply(workloads(ns, 'prod', ['c1', 'c2', 'c3'], { progressDeadlineSeconds: 2 }));
    await engine.apply(`${release(ns, 'r', `  environments:
    - name: prod
      promotion: auto
      strategy: { type: canary, canary: { percent: 30, verifySeconds: 5, autoRollback: true } }`)}
---
apiVersion: shipway.dev/v1alpha1
kind: ReleaseApp
metadata: { name: r-web, namespace: ${ns} }
spec: { release: r, app: web, version: 1.1.0-broken, artifact: { image: registry.local/web } }
`);
    const final = await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'RolledBack', 'the broken canary should end RolledBack');
    expect(final.status.message).toContain('exceeded its progress deadline');
    const c1 = final.status.environments[0].targets.find((t: { name: string }) => t.name === 'c1');
    expect(c1).toMatchObject({ phase: 'RolledBack', previousVersion: '1.0.0' });
    expect(final.status.environments[0].targets.map((t: { name: string }) => t.name)).toEqual(['c1']);
    expect(condition(final, 'Failed')).toMatchObject({ status: 'True', reason: 'RolledBack' });
    expect(await engine.image(ns, 'c1')).toBe('registry.local/web:1.0.0');
    expect(await engine.image(ns, 'c2')).toBe('registry.local/web:1.0.0');
    const history = await engine.history(ns, 'r');
    expect(history.release.phase).toBe('RolledBack');
    expect(history.deployments.map((d) => `${d.target}:${d.operation}:${d.version}:${d.status}`)).toEqual([
      `${ns}/c1:deploy:1.1.0-broken:rolled_back`,
      `${ns}/c1:rollback:1.0.0:succeeded`,
    ]);
    expect(history.deployments[0]!.error).toContain('exceeded its progress deadline');
    const events = await engine.json(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=r']);
    expect(events.items.map((e: { reason: string }) => e.reason)).toEqual(expect.arrayContaining(['TargetFailed', 'RollingBack', 'RolledBack']));
  }, 90_000);

  it('holds a Release with an unknown pipeline or no matching targets with a condition naming the problem', async () => {
    const ns = await engine.namespace('invalid');
    await engine.apply(workloads(ns, 'pre', ['a']));
    await engine.apply(release(ns, 'nopipe', `  pipelineRef: { name: nope }
  environments: [{ name: pre, promotion: auto }]`));
    await engine.apply(release(ns, 'notargets', `  environments: [{ name: pre, promotion: auto, targets: { selector: { matchLabels: { tier: none } } } }]`));
    const a = await engine.waitFor(ns, 'nopipe', (r) => condition(r, 'Stalled')?.status === 'True', 'unknown pipeline → Stalled');
    expect(condition(a, 'Stalled')).toMatchObject({ reason: 'InvalidSpec', message: `pipeline "nope" not found in namespace ${ns}` });
    expect(condition(a, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(a.status.phase).toBe('Pending');
    const b = await engine.waitFor(ns, 'notargets', (r) => condition(r, 'Stalled')?.status === 'True', 'no targets → Stalled');
    expect(condition(b, 'Stalled')!.message).toBe('environment pre: no targets matched');
    expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.0.0');
    // A Target that appears later unblocks the release.
    await engine.apply(workloads(ns, 'pre', ['b'], { labels: { tier: 'none' } }));
    await engine.waitFor(ns, 'notargets', (r) => r.status?.phase === 'Succeeded', 'the release should go on once a target matches');
  }, 90_000);

  it('pauses, resumes and starts on actions, and refuses an action that does not apply', async () => {
    const ns = await engine.namespace('actions');
    await engine.apply(workloads(ns, 'pre', ['a']));
    await engine.apply(release(ns, 'r', `  environments: [{ name: pre, promotion: manual }]`));
    await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Waiting', 'waits for start');
    await engine.annotate(ns, 'r', { 'shipway.dev/action': 'pause', 'shipway.dev/actor': 'ops' });
    await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Paused' && r.status.lastAction?.acknowledged === true, 'paused');
    await engine.annotate(ns, 'r', { 'shipway.dev/action': 'retry' });
    const refused = await engine.waitFor(ns, 'r', (r) => r.status?.lastAction?.action === 'retry', 'retry refused');
    expect(refused.status.lastAction).toMatchObject({ result: 'Rejected', message: 'retry applies to a Failed release (it is Paused)' });
    await engine.annotate(ns, 'r', { 'shipway.dev/action': 'resume' });
    await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Waiting' && r.status.lastAction?.action === 'resume', 'resumed');
    expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.0.0');
    await engine.annotate(ns, 'r', { 'shipway.dev/action': 'start', 'shipway.dev/actor': 'ops' });
    await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Succeeded', 'succeeds after start');
    expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.1.0');
    const history = await engine.history(ns, 'r');
    expect(history.auditEvents.map((e) => `${e.action}:${e.actor ?? ''}:${(e.details as { result: string }).result}`)).toEqual(['pause:ops:Applied', 'retry::Rejected', 'resume::Applied', 'start:ops:Applied']);
  }, 90_000);

  it('cancels a running release and stops its pipeline', async () => {
    const ns = await engine.namespace('cancel');
    await engine.apply(workloads(ns, 'pre', ['a']));
    await engine.apply(`${holdingPipeline(ns)}---
${release(ns, 'r', `  pipelineRef: { name: slow }
  environments: [{ name: pre, promotion: auto }]`)}`);
    await engine.waitFor(ns, 'r', (r) => r.status?.environments?.[0]?.targets?.[0]?.currentStep?.startsWith('hold/hold'), 'the wait task runs');
    await engine.annotate(ns, 'r', { 'shipway.dev/action': 'cancel', 'shipway.dev/comment': 'wrong build' });
    const final = await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Cancelled', 'cancelled');
    expect(final.status.message).toBe('cancelled: wrong build');
    expect(final.status.environments[0].targets[0].phase).toBe('Cancelled');
    const history = await engine.history(ns, 'r');
    await expect.poll(async () => (await engine.history(ns, 'r')).deployments[0]?.status, { timeout: 10_000 }).toBe('cancelled');
    expect(history.release.phase).toBe('Cancelled');
    expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.0.0');
  }, 90_000);

  it('retries a failed target as a new attempt once the problem is fixed', async () => {
    const ns = await engine.namespace('retry');
    // The Target exists, its Deployment does not yet: the deploy fails.
    await engine.apply(`
apiVersion: shipway.dev/v1alpha1
kind: Target
metadata: { name: a, namespace: ${ns} }
spec: { type: kubernetes, environment: pre, kubernetes: { namespace: ${ns}, name: a, container: web } }
---
${release(ns, 'r', `  environments: [{ name: pre, promotion: auto }]`)}`);
    const failed = await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Failed', 'fails without its Deployment');
    expect(failed.status.environments[0].targets[0].error).toContain('not found');
    await engine.apply(workloads(ns, 'pre', ['a']).split('---')[0]!);
    await engine.annotate(ns, 'r', { 'shipway.dev/action': 'retry', 'shipway.dev/actor': 'ops' });
    const done = await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Succeeded', 'succeeds after retry');
    expect(done.status.environments[0].targets[0]).toMatchObject({ phase: 'Succeeded', attempt: 2 });
    const history = await engine.history(ns, 'r');
    expect(history.deployments.map((d) => `${d.dedupKey.split('/').slice(-2).join('/')}:${d.status}`)).toEqual(['a1/shop:failed', 'a2/shop:succeeded']);
  }, 90_000);

  it('rolls back one target on request and leaves the others alone', async () => {
    const ns = await engine.namespace('rollback');
    await engine.apply(workloads(ns, 'pre', ['a', 'b']));
    await engine.apply(release(ns, 'r', `  environments: [{ name: pre, promotion: auto, strategy: { type: rolling, rolling: { batchSize: 2 } } }]`));
    await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Succeeded', 'succeeds');
    await engine.annotate(ns, 'r', { 'shipway.dev/action': 'rollback', 'shipway.dev/action-target': 'b', 'shipway.dev/actor': 'ops' });
    const final = await engine.waitFor(ns, 'r', (r) => r.status?.environments?.[0]?.targets?.find((t: { name: string }) => t.name === 'b')?.phase === 'RolledBack', 'b rolled back');
    expect(final.status.phase).toBe('Succeeded');
    expect(await engine.image(ns, 'b')).toBe('registry.local/web:1.0.0');
    expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.1.0');
    const history = await engine.history(ns, 'r');
    expect(history.deployments.filter((d) => d.operation === 'rollback').map((d) => `${d.target}:${d.version}:${d.status}`)).toEqual([`${ns}/b:1.0.0:succeeded`]);
  }, 90_000);

  it('shipway rollback rolls a batch of targets back to a named version, follows it, and rollback-status shows it', async () => {
    const ns = await engine.namespace('batch-rollback');
    await engine.apply(workloads(ns, 'pre', ['a', 'b', 'c']));
    await engine.apply(release(ns, 'r', `  environments: [{ name: pre, promotion: auto, strategy: { type: rolling, rolling: { batchSize: 3 } } }]`));
    await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Succeeded', 'succeeds');
    const shipway = async (...args: string[]) => {
      const out: string[] = [];
      const code = await main([...args, '-n', ns, '--kubeconfig', engine.cluster.kubeconfigPath], { out: (l) => out.push(l), err: (l) => out.push(l) });
      return { code, out: out.join('\n') };
    };

    const typo = await shipway('rollback', 'r', '--target', 'b,zz', '--actor', 'ops', '--timeout', '30');
    expect(typo).toMatchObject({ code: 1, out: expect.stringContaining('rollback refused: target zz has not been deployed by this release') });

    const batch = await shipway('rollback', 'r', '--target', 'b', '--target', 'c', '--to-version', '0.9.0', '--actor', 'ops', '--comment', 'bad cache', '--timeout', '60');
    expect(batch.out).toContain('accepted: rollback requested by ops: bad cache for b, c to 0.9.0');
    expect(batch.out).toMatch(/pre\/b: RolledBack \(to 0\.9\.0\)/);
    expect(batch.code).toBe(0);
    expect(await engine.image(ns, 'b')).toBe('registry.local/web:0.9.0');
    expect(await engine.image(ns, 'c')).toBe('registry.local/web:0.9.0');
    expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.1.0');
    const history = await engine.history(ns, 'r');
    expect(history.deployments.filter((d) => d.operation === 'rollback').map((d) => `${d.target}:${d.version}:${d.status}`).sort()).toEqual([`${ns}/b:0.9.0:succeeded`, `${ns}/c:0.9.0:succeeded`]);

    const status = await shipway('rollback-status', 'r', '-o', 'json');
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.out) as { targets: { target: string; phase: string; to: string }[]; lastAction: { result: string; target: string } };
    expect(parsed.targets.map((t) => `${t.target}:${t.phase}:${t.to}`)).toEqual(['b:RolledBack:0.9.0', 'c:RolledBack:0.9.0']);
    expect(parsed.lastAction).toMatchObject({ result: 'Applied', target: 'b,c' });
  }, 120_000);

  it('keeps the newest finished Releases of a namespace and deletes older ones, keeping their history', async () => {
    const ns = await engine.namespace('retention');
    await engine.apply(workloads(ns, 'pre', ['a']));
    const uids: string[] = [];
    for (const [i, version] of ['1.1.0', '1.2.0', '1.3.0'].entries()) {
      await engine.apply(release(ns, `r${i}`, `  environments: [{ name: pre, promotion: auto }]`).replace('version: 1.1.0', `version: ${version}`));
      const done = await engine.waitFor(ns, `r${i}`, (r) => r.status?.phase === 'Succeeded', `r${i} succeeds`);
      uids.push(done.metadata.uid);
    }
    await expect.poll(async () => (await engine.json(['get', 'releases', '-n', ns])).items.map((r: { metadata: { name: string } }) => r.metadata.name), { timeout: 15_000 }).toEqual(['r1', 'r2']);
    const row = await engine.operator.repo.getReleaseByUid(uids[0]!);
    expect(row).toMatchObject({ name: 'r0', phase: 'Succeeded', version: '1.1.0' });
    expect(await engine.image(ns, 'a')).toBe('registry.local/web:1.3.0');
  }, 90_000);
});
