/**
 * The release machine under the policies of issue 5: schedules, windows, emergency releases, approver
 * groups and expiry, the migration guard, ReleaseApp dependencies, and the notifications it asks for.
 */
import { describe, expect, it } from 'vitest';
import type { Environment } from '../../operator/src/api/release.ts';
import { environmentApprovalKey, stepApprovalKey, type Effect } from '../../operator/src/planning/release-machine.ts';
import { spec, T0, World } from './release-world.ts';

const notifications = (w: World) => w.effects('notify').map((e) => (e as Extract<Effect, { kind: 'notify' }>).event);
const env = (over: Partial<Environment> & { name: string }): Environment => ({ promotion: 'auto', ...over });

describe('schedules', () => {
  it('computes a cron start once, keeps it across passes and starts then, once', () => {
    const w = new World(spec({ schedule: { cron: '0 10 * * *', timezone: 'Asia/Shanghai' } }));
    w.extra = { createdAt: new Date(T0) }; // 2026-11-27T10:00Z = 18:00 in Shanghai
    w.step();
    expect(w.status.phase).toBe('Scheduled');
    expect(w.status.scheduledAt).toBe('2026-11-28T02:00:00Z');
    expect(w.last.requeueAfterMs).toBe(16 * 3600_000);
    expect(w.deploys()).toEqual([]);
    // A restarted operator reads the status: a later creation time (or clock) does not move the start.
    w.extra = { createdAt: new Date(T0 + 20 * 3600_000) };
    w.now = T0 + 3600_000;
    w.step();
    expect(w.status.scheduledAt).toBe('2026-11-28T02:00:00Z');
    w.now = Date.parse('2026-11-28T02:00:00Z');
    w.step();
    expect(w.status.phase).toBe('Deploying');
    expect(notifications(w)).toEqual(['release_start']);
    w.step();
    expect(notifications(w)).toEqual([]);
  });

  it('holds the release with the reason when the schedule cannot be computed', () => {
    const w = new World(spec({ schedule: { cron: '0 0 30 2 *' } }));
    w.step();
    expect(w.status.phase).toBe('Pending');
    expect(w.status.message).toMatch(/spec\.schedule\.cron "0 0 30 2 \*" has no occurrence/);
  });
});

describe('release windows', () => {
  const windowed = (emergencyUsers?: string[]) =>
    new World(spec({
      environments: [env({ name: 'prod', targets: { names: ['b'] }, window: { timezone: 'Europe/Berlin', allowed: [{ days: ['Mon', 'Tue', 'Wed', 'Thu'], start: '09:00', end: '17:00' }], ...(emergencyUsers ? { emergencyUsers } : {}) } })],
    }), { prod: ['b'] });

  it('waits outside the window, says until when, and deploys when it opens', () => {
    const w = windowed(); // T0 is Friday 11:00 in Berlin
    w.step();
    const prod = w.env('prod');
    expect(prod.phase).toBe('Waiting');
    expect(prod.waitingUntil).toBe('2026-11-30T08:00:00Z');
    expect(prod.waitingFor).toBe('release window: outside the release window Mon-Thu 09:00-17:00 (Europe/Berlin); opens at 2026-11-30T08:00:00Z');
    expect(w.last.requeueAfterMs).toBe(Date.parse('2026-11-30T08:00:00Z') - T0);
    expect(w.deploys()).toEqual([]);
    w.now = Date.parse('2026-11-30T08:00:00Z');
    w.step();
    expect(w.deploys()).toEqual(['b']);
    expect(w.env('prod').waitingUntil).toBeUndefined();
  });

  it('lets an emergency user start outside the window, marked and with the reason', () => {
    const w = windowed(['oncall']);
    w.step();
    w.step({ action: 'start', actor: 'oncall', emergency: true, comment: 'payment outage' });
    expect(w.last.actionResult?.result).toBe('Applied');
    expect(w.deploys()).toEqual(['b']);
    expect(w.env('prod').emergency).toMatchObject({ actor: 'oncall', reason: 'payment outage' });
    expect(w.status.emergency).toBe(true);
    expect(w.effects('event').map((e) => (e as Extract<Effect, { kind: 'event' }>).reason)).toContain('EmergencyRelease');
  });

  it.each([
    [['oncall'], 'mallory', 'mallory is not an emergency user of environment prod'],
    [undefined, 'oncall', 'environment prod names no emergency users'],
  ])('refuses an emergency start by someone not allowed (%s, %s)', (users, actor, message) => {
    const w = windowed(users);
    w.step();
    w.step({ action: 'start', actor, emergency: true, comment: 'now' });
    expect(w.last.actionResult?.result).toBe('Rejected');
    expect(w.last.actionResult?.message).toContain(message);
    expect(w.deploys()).toEqual([]);
  });

  it('holds the next batch when the window closes mid-environment', () => {
    const w = new World(spec({
      environments: [env({
        name: 'prod', targets: { names: ['b', 'c'] }, strategy: { type: 'rolling', rolling: { batchSize: 1, batchIntervalSeconds: 0 } },
        window: { timezone: 'UTC', allowed: [{ days: ['Fri'], start: '09:00', end: '10:30' }] },
      })],
    }), { prod: ['b', 'c'] });
    w.step();
    expect(w.deploys()).toEqual(['b']);
    w.finish('prod', 'b');
    w.now = T0 + 3600_000; // 11:00, closed
    w.step();
    expect(w.deploys()).toEqual([]);
    expect(w.env('prod').phase).toBe('Deploying');
    expect(w.env('prod').waitingUntil).toBe('2026-12-04T09:00:00Z');
  });
});

describe('emergency releases skip canary verification', () => {
  it('promotes the canary without the verify window or a promote gate', () => {
    const w = new World(spec({
      environments: [env({
        name: 'prod', promotion: 'manual', targets: { names: ['b', 'c', 'd'] },
        strategy: { type: 'canary', canary: { percent: 30, verifySeconds: 600, autoPromote: false, autoRollback: true } },
        window: { timezone: 'UTC', emergencyUsers: ['oncall'] },
      })],
    }), { prod: ['b', 'c', 'd'] });
    w.step();
    w.step({ action: 'start', actor: 'oncall', emergency: true, comment: 'hotfix' });
    const canary = w.deploys();
    expect(canary).toHaveLength(1);
    w.finish('prod', canary[0]!);
    w.step();
    expect(w.effects('verify')).toEqual([]);
    expect(w.deploys().sort()).toEqual(['b', 'c', 'd'].filter((t) => t !== canary[0]));
  });
});

describe('approvals', () => {
  const approving = (approval: Environment['approval']) =>
    new World(spec({ environments: [env({ name: 'prod', targets: { names: ['b'] }, approval })] }), { prod: ['b'] });

  it('accepts a member of an approver group and records who decided', () => {
    const w = approving({ required: true, groups: ['sre'] });
    w.extra = { groupMembers: new Map([['sre', ['alice', 'bob']]]) };
    w.step();
    expect(w.env('prod').phase).toBe('Approving');
    expect(notifications(w)).toContain('approval_required');
    w.step({ action: 'approve', actor: 'bob', comment: 'looks fine' });
    expect(w.last.actionResult?.result).toBe('Applied');
    expect(w.effects('decideApproval')).toEqual([expect.objectContaining({ key: environmentApprovalKey('prod'), approved: true, actor: 'bob', comment: 'looks fine' })]);
    expect(w.deploys()).toEqual(['b']);
  });

  it.each([
    [new Map([['sre', ['alice']]]), 'mallory is not among the approvers of environment prod (group sre)'],
    [new Map(), 'no members are known for group sre'],
  ])('refuses someone outside the groups', (members, message) => {
    const w = approving({ required: true, groups: ['sre'] });
    w.extra = { groupMembers: members };
    w.step();
    w.step({ action: 'approve', actor: 'mallory' });
    expect(w.last.actionResult?.result).toBe('Rejected');
    expect(w.last.actionResult?.message).toContain(message);
    expect(w.env('prod').phase).toBe('Approving');
  });

  it('asks with an expiry and fails the environment when the approval expired', () => {
    const w = approving({ required: true, approvers: ['alice'], expirySeconds: 3600 });
    w.step();
    expect(w.effects('requestApproval')).toEqual([expect.objectContaining({ expiresAt: '2026-11-27T11:00:00Z', approvers: ['alice'] })]);
    w.approvals.set(environmentApprovalKey('prod'), 'expired');
    w.step();
    expect(w.status.phase).toBe('Failed');
    expect(w.status.message).toBe('approval of environment prod was expired');
    expect(notifications(w)).toEqual(['release_failed']);
  });

  it('gates a clusterOrder step with the environment approvers and an expiry', () => {
    const w = new World(spec({
      environments: [env({
        name: 'prod', targets: { names: ['b', 'c'] }, approval: { required: false, approvers: ['alice'], expirySeconds: 600 },
        strategy: { type: 'canary', canary: { clusterOrder: [{ priority: 1, targets: ['b'], verifySeconds: 0, approvalRequired: false, fullRollout: true }, { priority: 2, targets: ['c'], verifySeconds: 0, approvalRequired: true, fullRollout: true }], autoPromote: true, autoRollback: true, verifySeconds: 0 } },
      })],
    }), { prod: ['b', 'c'] });
    w.step();
    w.finish('prod', 'b');
    w.step();
    const request = w.effects('requestApproval')[0] as Extract<Effect, { kind: 'requestApproval' }>;
    expect(request).toMatchObject({ key: stepApprovalKey('prod', 1), approvers: ['alice'], expiresAt: expect.any(String) });
    w.step({ action: 'approve', actor: 'eve' });
    expect(w.last.actionResult?.result).toBe('Rejected');
    w.step({ action: 'approve', actor: 'alice' });
    expect(w.deploys()).toEqual(['c']);
  });
});

describe('migration guard', () => {
  const migrating = (migrationGuard: 'freeze' | 'rollForward') =>
    new World(spec({
      rollback: { auto: true, granularity: 'all', migrationGuard },
      environments: [env({ name: 'prod', targets: { names: ['b'] } })],
    }), { prod: ['b'] });

  it('freezes instead of rolling back past a db_migrate, and says so', () => {
    const w = migrating('freeze');
    w.step();
    w.finish('prod', 'b', 'failed', { error: 'smoke test failed', migrated: true });
    w.step();
    expect(w.effects('rollback')).toEqual([]);
    expect(w.status.phase).toBe('Failed');
    expect(w.env('prod').frozen).toMatch(/^rollback refused: a db_migrate task ran on b; the release is frozen/);
    expect(w.target('prod', 'b').migrated).toBe(true);
  });

  it('refuses a manual rollback past the migration unless forced', () => {
    const w = migrating('freeze');
    w.step();
    w.finish('prod', 'b', 'failed', { error: 'boom', migrated: true });
    w.step();
    w.step({ action: 'rollback', actor: 'alice' });
    expect(w.last.actionResult).toEqual({ result: 'Rejected', message: 'a db_migrate task has run on b: a rollback past it needs shipway.dev/force: "true"' });
    w.step({ action: 'rollback', actor: 'alice', force: true });
    expect(w.last.actionResult?.result).toBe('Applied');
    expect(w.effects('rollback')).toHaveLength(1);
    expect(w.env('prod').frozen).toBeUndefined();
  });

  it('rolls forward once with rollForward, then freezes', () => {
    const w = migrating('rollForward');
    w.step();
    w.finish('prod', 'b', 'failed', { error: 'boom', migrated: true });
    w.step();
    expect(w.env('prod').waitingFor).toMatch(/^rolling forward: a db_migrate task ran on b/);
    expect(w.target('prod', 'b').attempt).toBe(2);
    expect(w.effects('deploy')).toEqual([expect.objectContaining({ target: 'b', attempt: 2 })]);
    w.finish('prod', 'b', 'failed', { error: 'boom again', migrated: true });
    w.step();
    expect(w.status.phase).toBe('Failed');
    expect(w.env('prod').frozen).toBeDefined();
  });

  it('rolls back as usual when no migration ran', () => {
    const w = migrating('freeze');
    w.step();
    w.finish('prod', 'b', 'failed', { error: 'boom' });
    w.step();
    expect(w.effects('rollback')).toHaveLength(1);
  });
});

describe('ReleaseApp dependencies', () => {
  const dependent = (timeoutSeconds = 300, required = true) => {
    const w = new World(spec({ environments: [env({ name: 'prod', targets: { names: ['api-1', 'web-1'] }, strategy: { type: 'rolling', rolling: { batchSize: 2, batchIntervalSeconds: 0 } } })] }), { prod: ['api-1', 'web-1'] });
    w.extra = {
      apps: {
        nodes: [{ app: 'api', dependsOn: [] }, { app: 'web', dependsOn: [{ app: 'api', required, waitReady: true, timeoutSeconds }] }],
        targetApps: new Map([['api-1', ['api']], ['web-1', ['web']]]),
      },
    };
    return w;
  };

  it('deploys the dependency first; the dependent waits and says why', () => {
    const w = dependent();
    w.step();
    expect(w.deploys()).toEqual(['api-1']);
    expect(w.target('prod', 'web-1').waitingFor).toBe('waiting for api (pending) to be ready');
    expect(w.status.message).toContain('web-1 waiting for api (pending) to be ready');
    w.work.set('prod/api-1', { deploy: { attempt: 1, state: 'running' } });
    w.step();
    expect(w.target('prod', 'web-1').waitingFor).toBe('waiting for api (deploying) to be ready');
    w.finish('prod', 'api-1');
    w.step();
    expect(w.deploys()).toEqual(['web-1']);
    expect(w.target('prod', 'web-1').waitingFor).toBeUndefined();
  });

  it('fails the dependent when a required dependency is not ready in time', () => {
    const w = dependent(60);
    w.step();
    w.now = T0 + 60_000;
    w.step();
    expect(w.target('prod', 'web-1').phase).toBe('Failed');
    expect(w.target('prod', 'web-1').error).toBe('dependency api is not ready after 60s');
  });

  it('goes on without an optional dependency that timed out', () => {
    const w = dependent(60, false);
    w.step();
    w.now = T0 + 60_000;
    w.step();
    expect(w.deploys()).toContain('web-1');
  });
});

describe('notifications asked for', () => {
  it('asks for start and success once each', () => {
    const w = new World(spec({ environments: [env({ name: 'prod', targets: { names: ['b'] } })] }), { prod: ['b'] });
    w.step();
    expect(notifications(w)).toEqual(['release_start']);
    w.finish('prod', 'b');
    w.step();
    expect(w.effects('notify')).toEqual([expect.objectContaining({ event: 'release_success', key: 'release_success/1' })]);
    w.step();
    expect(notifications(w)).toEqual([]);
  });
});

describe('approvals that expired before a pass saw it', () => {
  it('refuses an approve that comes after the expiry and fails the environment', () => {
    const w = new World(spec({ environments: [env({ name: 'prod', targets: { names: ['b'] }, approval: { required: true, approvers: ['alice'], expirySeconds: 60 } })] }), { prod: ['b'] });
    w.step();
    expect(w.env('prod').phase).toBe('Approving');
    // The operator was down (or the requeue had not come) when the approval expired; alice answers late.
    w.now = T0 + 61_000;
    w.approvals.set(environmentApprovalKey('prod'), 'expired');
    w.step({ action: 'approve', actor: 'alice' });
    expect(w.last.actionResult).toEqual({ result: 'Rejected', message: 'the approval of environment prod has expired' });
    expect(w.effects('decideApproval')).toEqual([]);
    expect(w.deploys()).toEqual([]);
    expect(w.status.phase).toBe('Failed');
    expect(w.status.message).toBe('approval of environment prod was expired');
  });
});
