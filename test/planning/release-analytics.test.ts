import { describe, expect, it } from 'vitest';
import type { ReleaseStatus } from '../../operator/src/api/release.ts';
import { releaseAnalytics } from '../../operator/src/planning/release-analytics.ts';

const NOW = new Date('2026-11-27T12:00:00Z');

describe('releaseAnalytics', () => {
  it('counts targets, averages finished durations and times finished environments', () => {
    const status: ReleaseStatus = {
      startedAt: '2026-11-27T10:00:00Z',
      finishedAt: '2026-11-27T10:10:00Z',
      environments: [
        { name: 'pre', phase: 'Succeeded', startedAt: '2026-11-27T10:00:00Z', finishedAt: '2026-11-27T10:02:00Z', targets: [{ name: 'a', phase: 'Succeeded', startedAt: '2026-11-27T10:00:00Z', finishedAt: '2026-11-27T10:01:00Z' }] },
        { name: 'prod', phase: 'Succeeded', startedAt: '2026-11-27T10:05:00Z', finishedAt: '2026-11-27T10:10:00Z', targets: [{ name: 'b', phase: 'Succeeded', startedAt: '2026-11-27T10:05:00Z', finishedAt: '2026-11-27T10:08:00Z' }] },
      ],
    };
    expect(releaseAnalytics(status, 2, NOW)).toEqual({
      totalTargets: 2, succeededTargets: 2, failedTargets: 0, pendingTargets: 0,
      totalDurationSeconds: 600, averageTargetDurationSeconds: 120, phaseDurationsSeconds: { pre: 120, prod: 300 }, healthScore: 100,
    });
  });

  it.each<[string, ReleaseStatus, number, Partial<ReturnType<typeof releaseAnalytics>>]>([
    ['targets not reached yet are pending', { environments: [{ name: 'pre', phase: 'Deploying', targets: [{ name: 'a', phase: 'Running' }] }] }, 4, { totalTargets: 4, pendingTargets: 4, healthScore: 100 }],
    ['a failed target costs points and raises an error alert', { startedAt: '2026-11-27T10:00:00Z', environments: [{ name: 'pre', phase: 'Failed', targets: [{ name: 'a', phase: 'Failed', error: 'boom', finishedAt: '2026-11-27T10:01:00Z' }, { name: 'b', phase: 'Succeeded' }] }] }, 2,
      { failedTargets: 1, succeededTargets: 1, healthScore: 70, alerts: [{ level: 'error', target: 'a', message: 'pre: boom', time: '2026-11-27T10:01:00Z' }] }],
    ['a rolled-back target warns', { startedAt: '2026-11-27T10:00:00Z', environments: [{ name: 'prod', phase: 'RolledBack', targets: [{ name: 'c', phase: 'RolledBack', error: 'unhealthy' }] }] }, 1,
      { healthScore: 60, pendingTargets: 0, alerts: [{ level: 'warning', target: 'c', message: 'prod: rolled back: unhealthy', time: '2026-11-27T10:00:00Z' }] }],
    ['retries cost five points each', { environments: [{ name: 'pre', phase: 'Succeeded', targets: [{ name: 'a', phase: 'Succeeded', attempt: 3 }] }] }, 1, { healthScore: 90 }],
  ])('%s', (_, status, planned, expected) => {
    expect(releaseAnalytics(status, planned, NOW)).toMatchObject(expected);
  });

  it('does not change while nothing finishes, so the status can settle', () => {
    const running: ReleaseStatus = { startedAt: '2026-11-27T10:00:00Z', environments: [{ name: 'pre', phase: 'Deploying', startedAt: '2026-11-27T10:00:00Z', targets: [{ name: 'a', phase: 'Running', startedAt: '2026-11-27T10:00:00Z' }] }] };
    expect(releaseAnalytics(running, 1, NOW)).toEqual(releaseAnalytics(running, 1, new Date('2026-11-27T13:00:00Z')));
  });
});
