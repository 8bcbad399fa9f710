import { describe, expect, it } from 'vitest';
import { environmentApprovalKey, stepApprovalKey, type ReleaseAction } from '../../operator/src/planning/release-machine.ts';
import { spec, World } from './release-world.ts';

describe('release flow', () => {
  it('deploys pre by itself, waits for a promote before prod, then succeeds', () => {
    const w = new World(spec());
    w.step();
    expect(w.status.phase).toBe('Deploying');
    expect(w.status.currentEnvironment).toBe('pre');
    expect(w.deploys()).toEqual(['a']);
    w.step();
    expect(w.deploys()).toEqual(['a']); // asked again, the runner deduplicates
    w.finish('pre', 'a');
    w.step();
    expect(w.env('pre').phase).toBe('Succeeded');
    expect(w.status.phase).toBe('Waiting');
    expect(w.env('prod').waitingFor).toContain('promote');
    expect(w.deploys()).toEqual([]);
    w.step({ action: 'promote', actor: 'alice' });
    expect(w.last.actionResult).toEqual({ result: 'Applied', message: 'promote by alice: environment prod started' });
    expect(w.deploys()).toEqual(['b']); // rolling, one a batch
    w.finish('prod', 'b');
    w.step();
    expect(w.deploys()).toEqual(['c']);
    w.finish('prod', 'c');
    w.step();
    expect(w.status.phase).toBe('Succeeded');
    expect(w.status.progress).toBe('3/3');
    expect(w.status.finishedAt).toBeDefined();
    expect(w.effects('event').map((e) => (e as { reason: string }).reason)).toContain('Succeeded');
  });

  it('keeps a target step that quotes a long error within the status schema, the whole error in error', () => {
    // The runner reports `failed: <error>` as the step; the schema allows 256 characters, and a status
    // write over the limit is refused (422) on every try, which left the release Deploying for good.
    const w = new World(spec());
    w.step();
    const error = `install of web v404 on a: image registry.local/web:v404 was not found: ${'x'.repeat(400)}`;
    w.finish('pre', 'a', 'failed', { error, currentStep: `failed: ${error}` });
    w.step();
    expect(w.target('pre', 'a').phase).toBe('Failed');
    expect(w.target('pre', 'a').currentStep).toBe(`failed: ${error}`.slice(0, 256));
    expect(w.target('pre', 'a').error).toBe(error);
  });

  it('waits for a start action when the first environment is manual', () => {
    const w = new World(spec({ environments: [{ name: 'pre', promotion: 'manual', targets: { names: ['a'] } }] }), { pre: ['a'] });
    w.step();
    expect(w.status.phase).toBe('Waiting');
    expect(w.env('pre').waitingFor).toBe('a start action (promotion: manual)');
    w.step({ action: 'start' });
    expect(w.status.phase).toBe('Deploying');
    expect(w.deploys()).toEqual(['a']);
  });

  it('waits until schedule.at, then starts', () => {
    const w = new World(spec({ schedule: { at: '2026-11-27T10:05:00Z' } }));
    w.step();
    expect(w.status.phase).toBe('Scheduled');
    expect(w.last.requeueAfterMs).toBe(300_000);
    w.now += 300_000;
    w.step();
    expect(w.status.phase).toBe('Deploying');
  });

  it('shows problems instead of starting', () => {
    const w = new World(spec());
    w.step(undefined, ['pipeline "nope" not found']);
    expect(w.status.phase).toBe('Pending');
    expect(w.status.message).toBe('pipeline "nope" not found');
    expect(w.deploys()).toEqual([]);
  });

  it('fails an environment whose targets cannot be resolved, naming why', () => {
    const w = new World(spec(), { pre: [], prod: ['b'] });
    w.step();
    expect(w.status.phase).toBe('Failed');
    expect(w.status.message).toContain('no targets matched');
  });

  it('waits batch intervals between rolling batches', () => {
    const w = new World(spec({ environments: [{ name: 'pre', promotion: 'auto', targets: { names: ['a', 'b'] }, strategy: { type: 'rolling', rolling: { batchSize: 1, batchIntervalSeconds: 30 } } }] }), { pre: ['a', 'b'] });
    w.step();
    w.finish('pre', 'a');
    w.step();
    expect(w.deploys()).toEqual([]);
    expect(w.last.requeueAfterMs).toBe(30_000);
    expect(w.env('pre').waitingFor).toBe('batch interval: step 2 starts at 2026-11-27T10:00:30Z');
    w.now += 30_000;
    w.step();
    expect(w.deploys()).toEqual(['b']);
  });
});

describe('approvals', () => {
  const approving = () =>
    new World(spec({ environments: [{ name: 'pre', promotion: 'auto', targets: { names: ['a'] }, approval: { required: true, approvers: ['bob'] } }] }), { pre: ['a'] });

  it('asks for approval and deploys once approved by an approver', () => {
    const w = approving();
    w.step();
    expect(w.status.phase).toBe('Approving');
    expect(w.effects('requestApproval')).toEqual([{ kind: 'requestApproval', key: environmentApprovalKey('pre'), environment: 'pre', approvers: ['bob'], groups: [] }]);
    w.step({ action: 'approve', actor: 'mallory' });
    expect(w.last.actionResult?.result).toBe('Rejected');
    expect(w.last.actionResult?.message).toContain('mallory is not among the approvers');
    w.step({ action: 'approve', actor: 'bob', comment: 'ok' });
    expect(w.last.actionResult?.result).toBe('Applied');
    expect(w.effects('decideApproval')).toEqual([{ kind: 'decideApproval', key: 'env/pre', environment: 'pre', approved: true, actor: 'bob', comment: 'ok' }]);
    expect(w.deploys()).toEqual(['a']);
  });

  it('fails the release when the approval is rejected or expires', () => {
    const w = approving();
    w.step();
    w.step({ action: 'reject', actor: 'bob' });
    expect(w.status.phase).toBe('Failed');
    expect(w.status.message).toContain('was rejected');
    const x = approving();
    x.step();
    x.approvals.set('env/pre', 'expired');
    x.step();
    expect(x.status.phase).toBe('Failed');
    expect(x.status.message).toContain('expired');
  });
});

describe('canary', () => {
  const canary = (autoPromote: boolean) =>
    new World(
      spec({
        environments: [{ name: 'prod', promotion: 'auto', targets: { names: ['b', 'c', 'd'] }, strategy: { type: 'canary', canary: { percent: 30, verifySeconds: 60, autoPromote, autoRollback: true } } }],
      }),
      { prod: ['b', 'c', 'd'] },
    );

  it('verifies the canary, waits for promote, then rolls out the rest', () => {
    const w = canary(false);
    w.step();
    expect(w.deploys()).toEqual(['b']);
    w.finish('prod', 'b');
    w.step();
    expect(w.status.phase).toBe('Verifying');
    expect(w.target('prod', 'b').phase).toBe('Verifying');
    expect(w.last.requeueAfterMs).toBe(60_000);
    w.now += 60_000;
    w.step();
    expect(w.effects('verify')).toEqual([{ kind: 'verify', environment: 'prod', target: 'b', attempt: 1, stepIndex: 0, mode: 'update' }]);
    w.verified('prod', 'b', 'succeeded');
    w.step();
    expect(w.env('prod').waitingFor).toBe('a promote action to continue after canary');
    expect(w.deploys()).toEqual([]);
    w.step({ action: 'promote' });
    expect(w.last.actionResult?.result).toBe('Applied');
    expect(w.deploys().sort()).toEqual(['c', 'd']);
  });

  it('rolls back every updated target automatically when the canary fails', () => {
    const w = canary(true);
    w.step();
    w.finish('prod', 'b', 'failed', { error: 'deployment "b" exceeded its progress deadline' });
    w.step();
    expect(w.target('prod', 'b').phase).toBe('RollingBack');
    expect(w.effects('rollback')).toEqual([{ kind: 'rollback', environment: 'prod', target: 'b', round: 1, toVersion: '1.0.0', reason: 'deployment "b" exceeded its progress deadline', mode: 'update' }]);
    expect(w.status.message).toContain('rolling back');
    w.rolledBack('prod', 'b');
    w.step();
    expect(w.target('prod', 'b').phase).toBe('RolledBack');
    expect(w.status.phase).toBe('RolledBack');
    expect(w.status.message).toBe('rolled back: b: deployment "b" exceeded its progress deadline');
  });

  it('rolls back when verification fails', () => {
    const w = canary(true);
    w.step();
    w.finish('prod', 'b');
    w.step();
    w.now += 60_000;
    w.step();
    w.verified('prod', 'b', 'failed', 'health check http://b/healthz: 503');
    w.step();
    expect(w.target('prod', 'b').phase).toBe('RollingBack');
    w.rolledBack('prod', 'b');
    w.step();
    expect(w.status.phase).toBe('RolledBack');
    expect(w.status.message).toContain('503');
  });
});

describe('actions', () => {
  it('pause stops new work and resume carries on', () => {
    const w = new World(spec());
    w.step({ action: 'pause', actor: 'ops' });
    expect(w.status.phase).toBe('Paused');
    expect(w.deploys()).toEqual([]);
    w.step({ action: 'pause' });
    expect(w.last.actionResult?.result).toBe('Rejected');
    w.step({ action: 'resume' });
    expect(w.status.phase).toBe('Deploying');
    expect(w.deploys()).toEqual(['a']);
  });

  it('spec.paused pauses and a resume action says to change it', () => {
    const w = new World(spec({ paused: true }));
    w.step();
    expect(w.status.phase).toBe('Paused');
    w.step({ action: 'resume' });
    expect(w.last.actionResult).toEqual({ result: 'Rejected', message: 'the release is paused by spec.paused; set it to false' });
  });

  it('cancel ends the release and stops running work', () => {
    const w = new World(spec());
    w.step();
    w.step({ action: 'cancel', actor: 'ops', comment: 'wrong build' });
    expect(w.status.phase).toBe('Cancelled');
    expect(w.target('pre', 'a').phase).toBe('Cancelled');
    expect(w.effects('cancelRunning')).toHaveLength(1);
    w.step({ action: 'start' });
    expect(w.last.actionResult?.result).toBe('Rejected');
  });

  it('retry runs the failed target again as a new attempt', () => {
    const w = new World(spec());
    w.step();
    w.finish('pre', 'a', 'failed', { error: 'boom' });
    w.step();
    expect(w.status.phase).toBe('Failed');
    w.step({ action: 'retry' });
    expect(w.last.actionResult?.message).toBe('retry: a (attempt 2)');
    expect(w.status.phase).toBe('Deploying');
    expect(w.effects('deploy')).toEqual([{ kind: 'deploy', environment: 'pre', target: 'a', attempt: 2, stepIndex: 0, mode: 'update' }]);
    w.step(); // the attempt-1 failure is not taken for attempt 2
    expect(w.target('pre', 'a').phase).toBe('Pending');
    w.finish('pre', 'a');
    w.step();
    expect(w.env('pre').phase).toBe('Succeeded');
  });

  it('rollback of one target leaves the others alone', () => {
    const w = new World(spec(), { pre: ['a'], prod: ['b', 'c'] });
    w.step();
    w.finish('pre', 'a');
    w.step();
    w.step({ action: 'promote' });
    w.finish('prod', 'b');
    w.step();
    w.finish('prod', 'c');
    w.step();
    expect(w.status.phase).toBe('Succeeded');
    w.step({ action: 'rollback', target: 'c', actor: 'ops' });
    expect(w.last.actionResult?.result).toBe('Applied');
    expect(w.effects('rollback')).toEqual([{ kind: 'rollback', environment: 'prod', target: 'c', round: 1, toVersion: '1.0.0', reason: 'rollback requested by ops', mode: 'update' }]);
    w.rolledBack('prod', 'c');
    w.step();
    expect(w.target('prod', 'c').phase).toBe('RolledBack');
    expect(w.target('prod', 'b').phase).toBe('Succeeded');
    expect(w.status.phase).toBe('Succeeded');
  });

  it('a batch rollback to a version rolls back exactly the named targets to it, and keeps the version in status', () => {
    const w = new World(spec(), { pre: ['a'], prod: ['b', 'c', 'd'] });
    w.step();
    w.finish('pre', 'a');
    w.step();
    w.step({ action: 'promote' });
    for (const t of ['b', 'c', 'd']) {
      w.finish('prod', t);
      w.step();
    }
    expect(w.status.phase).toBe('Succeeded');
    w.step({ action: 'rollback', target: 'b,d', rollbackVersion: '0.9.0', actor: 'ops' });
    expect(w.last.actionResult).toEqual({ result: 'Applied', message: 'rollback requested by ops for b, d to 0.9.0' });
    expect(w.effects('rollback').map((e) => [(e as { target: string }).target, (e as { toVersion?: string }).toVersion])).toEqual([['b', '0.9.0'], ['d', '0.9.0']]);
    expect(w.target('prod', 'b').rollbackTo).toBe('0.9.0');
    w.step(); // asked again with the version from status, as after an operator restart
    expect(w.effects('rollback').map((e) => (e as { toVersion?: string }).toVersion)).toEqual(['0.9.0', '0.9.0']);
    w.rolledBack('prod', 'b');
    w.rolledBack('prod', 'd');
    w.step();
    expect(['b', 'c', 'd'].map((t) => w.target('prod', t).phase)).toEqual(['RolledBack', 'Succeeded', 'RolledBack']);

    w.step({ action: 'rollback', target: 'b,c', actor: 'ops' });
    expect(w.last.actionResult).toEqual({ result: 'Applied', message: 'rollback requested by ops for c; already b (RolledBack)' });
    expect(w.target('prod', 'c').rollbackTo).toBeUndefined();
    expect(w.effects('rollback')).toEqual([{ kind: 'rollback', environment: 'prod', target: 'c', round: 1, toVersion: '1.0.0', reason: 'rollback requested by ops', mode: 'update' }]);
  });

  it('a batch naming a target the release did not deploy is refused whole', () => {
    const w = new World(spec(), { pre: ['a', 'b'], prod: ['c'] });
    w.step();
    w.finish('pre', 'a');
    w.step();
    w.step({ action: 'rollback', target: 'a,zz,yy' });
    expect(w.last.actionResult).toEqual({ result: 'Rejected', message: 'targets zz, yy have not been deployed by this release' });
    expect(w.target('pre', 'a').phase).toBe('Succeeded');
    expect(w.effects('rollback')).toEqual([]);
  });

  it('rollback of the whole release ends RolledBack', () => {
    const w = new World(spec());
    w.step();
    w.finish('pre', 'a');
    w.step();
    w.step({ action: 'rollback' });
    expect(w.effects('rollback').map((e) => (e as { target: string }).target)).toEqual(['a']);
    w.rolledBack('pre', 'a');
    w.step();
    expect(w.status.phase).toBe('RolledBack');
  });

  it.each<[ReleaseAction, string]>([
    [{ action: 'retry' }, 'retry applies to a Failed release (it is Deploying)'],
    [{ action: 'approve' }, 'nothing waits for approval (environment pre is Deploying)'],
    [{ action: 'promote' }, 'environment pre is Deploying (Run); promote applies to a waiting environment or a canary waiting for promotion'],
    [{ action: 'rollback', target: 'zz' }, 'target zz has not been deployed by this release'],
  ])('refuses %j with a reason', (action, message) => {
    const w = new World(spec());
    w.step();
    w.step(action);
    expect(w.last.actionResult).toEqual({ result: 'Rejected', message });
  });
});

describe('multi-cluster ordered canary', () => {
  it('walks clusterOrder steps with soak time and a step approval', () => {
    const w = new World(
      spec({
        environments: [{
          name: 'prod', promotion: 'auto', targets: { names: ['eu', 'us', 'ap'] },
          strategy: { type: 'canary', canary: { verifySeconds: 0, autoPromote: true, autoRollback: true, clusterOrder: [
            { priority: 1, targets: ['eu'], verifySeconds: 10, approvalRequired: false, fullRollout: false },
            { priority: 2, targets: ['us', 'ap'], verifySeconds: 0, approvalRequired: true, fullRollout: true },
          ] } },
        }],
      }),
      { prod: ['eu', 'us', 'ap'] },
    );
    w.step();
    expect(w.deploys()).toEqual(['eu']);
    w.finish('prod', 'eu');
    w.step();
    expect(w.status.phase).toBe('Verifying');
    w.now += 10_000;
    w.step();
    w.verified('prod', 'eu', 'succeeded');
    w.step();
    expect(w.status.phase).toBe('Approving');
    expect(w.effects('requestApproval')[0]).toMatchObject({ key: stepApprovalKey('prod', 1), step: 1 });
    w.step({ action: 'approve', actor: 'lead' });
    expect(w.deploys().sort()).toEqual(['ap', 'us']);
  });
});

describe('in-workload canary of one target', () => {
  const single = () =>
    new World(spec({ environments: [{ name: 'prod', promotion: 'auto', targets: { names: ['w'] }, strategy: { type: 'canary', canary: { percent: 20, verifySeconds: 10, autoPromote: false, autoRollback: true } } }] }), { prod: ['w'] });

  it('runs the canary beside the workload, then promotes the same target', () => {
    const w = single();
    w.step();
    expect(w.effects('deploy')).toEqual([{ kind: 'deploy', environment: 'prod', target: 'w', attempt: 1, stepIndex: 0, mode: 'canary', canaryPercent: 20 }]);
    w.finish('prod', 'w', 'succeeded', { step: 0 });
    w.step();
    w.now += 10_000;
    w.step();
    w.verified('prod', 'w', 'succeeded');
    w.step();
    expect(w.env('prod').waitingFor).toBe('a promote action to continue after canary');
    w.step({ action: 'promote' });
    expect(w.effects('deploy')).toEqual([{ kind: 'deploy', environment: 'prod', target: 'w', attempt: 1, stepIndex: 1, mode: 'promote' }]);
    w.step(); // the canary step's success is not taken for the promotion
    expect(w.target('prod', 'w').phase).toBe('Pending');
    w.finish('prod', 'w', 'succeeded', { step: 1 });
    w.step();
    expect(w.status.phase).toBe('Succeeded');
    expect(w.target('prod', 'w')).toMatchObject({ phase: 'Succeeded', mode: 'promote', batch: 1 });
  });

  it('removes a failed canary instead of rolling the workload back', () => {
    const w = single();
    w.step();
    w.finish('prod', 'w', 'failed', { step: 0, error: 'canary never ready' });
    w.step();
    expect(w.effects('rollback')).toEqual([{ kind: 'rollback', environment: 'prod', target: 'w', round: 1, toVersion: '1.0.0', reason: 'canary never ready', mode: 'canary' }]);
  });
});

describe('rollback version', () => {
  it('goes to spec.rollback.targetVersion when it is set, instead of the previous version', () => {
    const w = new World(spec({ rollback: { auto: true, granularity: 'all', migrationGuard: 'freeze', targetVersion: '0.9.0' } }));
    w.step();
    w.finish('pre', 'a', 'failed', { error: 'boom' });
    w.step();
    expect(w.effects('rollback')).toEqual([{ kind: 'rollback', environment: 'pre', target: 'a', round: 1, toVersion: '0.9.0', reason: 'boom', mode: 'update' }]);
  });
});

