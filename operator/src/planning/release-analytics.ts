/**
 * Analytics of a release (SPEC "History, analytics, retention"), pure, from its status: target counts,
 * total and average per-target duration, time spent per phase of the environments, a health score and
 * alerts. The score starts at 100 and loses points for failed and rolled-back targets and for retries.
 * Durations count finished things only: a status that changed on every pass would never settle.
 */
import type { Analytics, ReleaseStatus } from '../api/release.ts';
import { kubeTime } from '../api/kube-time.ts';

const seconds = (from?: string, to?: string) => (from && to ? Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000) : undefined);
const round = (n: number) => Math.round(n * 10) / 10;

export function releaseAnalytics(status: ReleaseStatus, plannedTargets: number, now: Date): Analytics {
  const runs = (status.environments ?? []).flatMap((e) => (e.targets ?? []).map((t) => ({ env: e.name, t })));
  const succeeded = runs.filter(({ t }) => t.phase === 'Succeeded').length;
  const failed = runs.filter(({ t }) => t.phase === 'Failed').length;
  const rolledBack = runs.filter(({ t }) => t.phase === 'RolledBack' || t.phase === 'RollingBack').length;
  const total = Math.max(plannedTargets, runs.length);
  const durations = runs.map(({ t }) => seconds(t.startedAt, t.finishedAt)).filter((d): d is number => d !== undefined);
  const phaseDurations: Record<string, number> = {};
  for (const env of status.environments ?? []) {
    const d = seconds(env.startedAt, env.finishedAt);
    if (d !== undefined) phaseDurations[env.name] = round(d);
  }
  const retries = runs.reduce((n, { t }) => n + Math.max(0, (t.attempt ?? 1) - 1), 0);
  const alerts: NonNullable<Analytics['alerts']> = [];
  const fallback = status.startedAt ?? kubeTime(now);
  for (const { env, t } of runs) {
    const time = t.finishedAt ?? fallback;
    if (t.phase === 'Failed') alerts.push({ level: 'error', target: t.name, message: `${env}: ${t.error ?? 'failed'}`.slice(0, 4096), time });
    else if (t.phase === 'RolledBack') alerts.push({ level: 'warning', target: t.name, message: `${env}: rolled back${t.error ? `: ${t.error}` : ''}`.slice(0, 4096), time });
  }
  const penalty = total === 0 ? 0 : (failed * 60 + rolledBack * 40) / total + retries * 5;
  const totalDuration = seconds(status.startedAt, status.finishedAt);
  return {
    totalTargets: total,
    succeededTargets: succeeded,
    failedTargets: failed,
    pendingTargets: Math.max(0, total - succeeded - failed - rolledBack),
    ...(totalDuration !== undefined ? { totalDurationSeconds: round(totalDuration) } : {}),
    ...(durations.length > 0 ? { averageTargetDurationSeconds: round(durations.reduce((a, b) => a + b, 0) / durations.length) } : {}),
    ...(Object.keys(phaseDurations).length > 0 ? { phaseDurationsSeconds: phaseDurations } : {}),
    healthScore: Math.max(0, Math.min(100, Math.round(100 - penalty))),
    ...(alerts.length > 0 ? { alerts: alerts.slice(-50) } : {}),
  };
}
