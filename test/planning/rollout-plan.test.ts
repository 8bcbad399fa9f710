import { describe, expect, it } from 'vitest';
import type { Strategy } from '../../operator/src/api/strategy.ts';
import { planRollout, PlanError, shareOf, type PlanTarget } from '../../operator/src/planning/rollout-plan.ts';

const targets = (n: number, labels: (i: number) => Record<string, string> = () => ({})): PlanTarget[] =>
  Array.from({ length: n }, (_, i) => ({ name: `t${i + 1}`, labels: labels(i + 1) }));

const shape = (strategy: Strategy | undefined, ts: PlanTarget[]) =>
  planRollout(strategy, ts).steps.map((s) => ({
    id: s.id, targets: s.targets, gate: s.promoteGate, verify: s.verifySeconds, approval: s.approvalRequired, delay: s.delaySeconds,
    ...(s.mode !== 'update' ? { mode: s.mode } : {}), ...(s.canaryPercent !== undefined ? { percent: s.canaryPercent } : {}),
  }));

describe('shareOf', () => {
  it.each([
    [10, 10, 1],
    [3, 10, 1],
    [10, 25, 3],
    [4, 50, 2],
    [5, 100, 5],
    [0, 50, 0],
  ])('%i targets at %i%% is %i', (n, percent, expected) => {
    expect(shareOf(n, percent)).toBe(expected);
  });
});

describe('planRollout', () => {
  it.each<[string, Strategy | undefined, PlanTarget[], ReturnType<typeof shape>]>([
    ['rolling by default, one target a batch', undefined, targets(2), [
      { id: 'batch-1', targets: ['t1'], gate: false, verify: 0, approval: false, delay: 0 },
      { id: 'batch-2', targets: ['t2'], gate: false, verify: 0, approval: false, delay: 0 },
    ]],
    ['rolling in batches of two with an interval', { type: 'rolling', rolling: { batchSize: 2, batchIntervalSeconds: 30 } }, targets(5), [
      { id: 'batch-1', targets: ['t1', 't2'], gate: false, verify: 0, approval: false, delay: 0 },
      { id: 'batch-2', targets: ['t3', 't4'], gate: false, verify: 0, approval: false, delay: 30 },
      { id: 'batch-3', targets: ['t5'], gate: false, verify: 0, approval: false, delay: 30 },
    ]],
    ['canary by percent, then a manual promotion', { type: 'canary', canary: { percent: 25, verifySeconds: 60, autoPromote: false, autoRollback: true } }, targets(8), [
      { id: 'canary', targets: ['t1', 't2'], gate: true, verify: 60, approval: false, delay: 0 },
      { id: 'full', targets: ['t3', 't4', 't5', 't6', 't7', 't8'], gate: false, verify: 0, approval: false, delay: 0 },
    ]],
    ['canary with automatic promotion', { type: 'canary', canary: { percent: 50, verifySeconds: 5, autoPromote: true, autoRollback: true } }, targets(2), [
      { id: 'canary', targets: ['t1'], gate: false, verify: 5, approval: false, delay: 0 },
      { id: 'full', targets: ['t2'], gate: false, verify: 0, approval: false, delay: 0 },
    ]],
    ['canary on named targets', { type: 'canary', canary: { targets: ['t3'], verifySeconds: 10, autoPromote: false, autoRollback: true } }, targets(3), [
      { id: 'canary', targets: ['t3'], gate: true, verify: 10, approval: false, delay: 0 },
      { id: 'full', targets: ['t1', 't2'], gate: false, verify: 0, approval: false, delay: 0 },
    ]],
    ['canary by label selector', { type: 'canary', canary: { selector: { matchLabels: { canary: 'true' } }, verifySeconds: 10, autoPromote: false, autoRollback: true } }, targets(4, (i): Record<string, string> => (i % 2 === 0 ? { canary: 'true' } : {})), [
      { id: 'canary', targets: ['t2', 't4'], gate: true, verify: 10, approval: false, delay: 0 },
      { id: 'full', targets: ['t1', 't3'], gate: false, verify: 0, approval: false, delay: 0 },
    ]],
    ['a canary that covers every target has no promotion gate', { type: 'canary', canary: { percent: 100, verifySeconds: 10, autoPromote: false, autoRollback: true } }, targets(2), [
      { id: 'canary', targets: ['t1', 't2'], gate: false, verify: 10, approval: false, delay: 0 },
    ]],
    ['multi-cluster ordered canary', {
      type: 'canary',
      canary: {
        verifySeconds: 300, autoPromote: false, autoRollback: true,
        clusterOrder: [
          { priority: 4, targets: ['t3', 't4'], fullRollout: true, verifySeconds: 0, approvalRequired: false },
          { priority: 1, targets: ['t1'], verifySeconds: 60, approvalRequired: false, fullRollout: false },
          { priority: 2, targets: ['t2'], verifySeconds: 300, approvalRequired: true, fullRollout: false },
          { priority: 3, targets: ['t3', 't4'], canaryPercent: 20, verifySeconds: 600, approvalRequired: false, fullRollout: false },
        ],
      },
    }, targets(4), [
      { id: 'cluster-1', targets: ['t1'], gate: false, verify: 60, approval: false, delay: 0 },
      { id: 'cluster-2', targets: ['t2'], gate: false, verify: 300, approval: true, delay: 0 },
      { id: 'cluster-3', targets: ['t3', 't4'], gate: true, verify: 600, approval: false, delay: 0, mode: 'canary', percent: 20 },
      { id: 'cluster-4', targets: ['t3', 't4'], gate: false, verify: 0, approval: false, delay: 0 },
    ]],
    ['blue-green switches every target at once', { type: 'blueGreen', blueGreen: { switchTimeoutSeconds: 60, keepOldVersion: true } }, targets(2), [
      { id: 'blue-green', targets: ['t1', 't2'], gate: false, verify: 0, approval: false, delay: 0, mode: 'blueGreen' },
    ]],
    ['a percent canary of one target runs inside its workload, then promotes it', { type: 'canary', canary: { percent: 25, verifySeconds: 30, autoPromote: false, autoRollback: true } }, targets(1), [
      { id: 'canary', targets: ['t1'], gate: true, verify: 30, approval: false, delay: 0, mode: 'canary', percent: 25 },
      { id: 'full', targets: ['t1'], gate: false, verify: 0, approval: false, delay: 0 },
    ]],
    ['clusterOrder canaries that no later step rolls out get a final full step', {
      type: 'canary',
      canary: { verifySeconds: 0, autoPromote: true, autoRollback: true, clusterOrder: [{ priority: 1, targets: ['t1', 't2'], canaryPercent: 10, verifySeconds: 5, approvalRequired: false, fullRollout: false }] },
    }, targets(2), [
      { id: 'cluster-1', targets: ['t1', 't2'], gate: false, verify: 5, approval: false, delay: 0, mode: 'canary', percent: 10 },
      { id: 'full', targets: ['t1', 't2'], gate: false, verify: 0, approval: false, delay: 0 },
    ]],
  ])('%s', (_name, strategy, ts, expected) => {
    expect(shape(strategy, ts)).toEqual(expected);
  });

  it('orders targets by priority, then name', () => {
    const plan = planRollout(undefined, [{ name: 'b', priority: 1 }, { name: 'a', priority: 1 }, { name: 'z', priority: 0 }]);
    expect(plan.steps.map((s) => s.targets[0])).toEqual(['z', 'a', 'b']);
  });

  it.each<[string, Strategy | undefined, PlanTarget[], string]>([
    ['no targets', undefined, [], 'no targets matched'],
    ['canary targets outside the environment', { type: 'canary', canary: { targets: ['nope'], verifySeconds: 1, autoPromote: false, autoRollback: true } }, targets(2), 'canary targets not in the environment: nope'],
    ['a selector that matches nothing', { type: 'canary', canary: { selector: { matchLabels: { canary: 'true' } }, verifySeconds: 1, autoPromote: false, autoRollback: true } }, targets(2), 'matches none'],
    ['clusterOrder naming unknown targets', { type: 'canary', canary: { clusterOrder: [{ priority: 1, targets: ['x'], verifySeconds: 0, approvalRequired: false, fullRollout: false }], verifySeconds: 1, autoPromote: false, autoRollback: true } }, targets(1), 'names targets not in the environment: x'],
    ['clusterOrder leaving targets out', { type: 'canary', canary: { clusterOrder: [{ priority: 1, targets: ['t1'], verifySeconds: 0, approvalRequired: false, fullRollout: false }], verifySeconds: 1, autoPromote: false, autoRollback: true } }, targets(2), 'not covered by any clusterOrder step: t2'],
  ])('refuses %s', (_name, strategy, ts, message) => {
    expect(() => planRollout(strategy, ts)).toThrow(PlanError);
    expect(() => planRollout(strategy, ts)).toThrow(message);
  });
});
