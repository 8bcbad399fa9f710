/**
 * Rollout plans: which targets of an environment are updated in which step, and what gates each step —
 * a verify window, an approval, a manual promotion. Pure: the release engine executes the plan and
 * persists which step it is in.
 */
import type { ClusterOrderStep, Strategy } from '../api/strategy.ts';
import { labelSelectorFromObject } from './selectors.ts';

export interface PlanTarget {
  name: string;
  labels?: Record<string, string>;
  priority?: number;
}

export type StepKind = 'batch' | 'canary' | 'cluster' | 'blueGreen';
/**
 * How a step changes its targets: `update` sets the new images on the workload (after an in-workload canary
 * of the same target this promotes it), `canary` runs `<name>-canary` with `canaryPercent` of the replicas
 * next to the untouched workload, `blueGreen` deploys the idle colour and switches the Service.
 */
export type DeployMode = 'update' | 'canary' | 'blueGreen';

export interface RolloutStep {
  /** Stable id used to persist progress, e.g. `batch-2`, `canary`, `cluster-3`. */
  id: string;
  kind: StepKind;
  /** Targets updated in this step (never repeated in a later step). */
  targets: string[];
  /** Seconds to wait before this step starts (rolling batch interval). */
  delaySeconds: number;
  /** Someone must approve before the step starts. */
  approvalRequired: boolean;
  /** Health is watched this long after the step; failure rolls back per policy. */
  verifySeconds: number;
  /** After the step (and its verify window), wait for a `promote` action. */
  promoteGate: boolean;
  mode: DeployMode;
  /** `canary` mode: the share of the workload's replicas the canary runs. */
  canaryPercent?: number;
}

export interface RolloutPlan {
  strategy: 'rolling' | 'canary' | 'blueGreen';
  steps: RolloutStep[];
  /** Canary only: roll back automatically when verification fails. */
  autoRollback: boolean;
  /** Blue-green only: keep the old colour (scaled to 0) after the switch. */
  keepOldVersion?: boolean;
}

export class PlanError extends Error {}

/** Priority first (lower first), then name: the order targets are taken in. */
export function orderTargets(targets: readonly PlanTarget[]): PlanTarget[] {
  return [...targets].sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0) || a.name.localeCompare(b.name));
}

/** ceil(percent% of n), at least one and at most n: a 10% canary of 3 targets is one target, not zero. */
export function shareOf(n: number, percent: number): number {
  if (n === 0) return 0;
  return Math.min(n, Math.max(1, Math.ceil((n * percent) / 100)));
}

const step = (id: string, kind: StepKind, targets: string[], extra: Partial<RolloutStep> = {}): RolloutStep => ({
  id,
  kind,
  targets,
  delaySeconds: 0,
  approvalRequired: false,
  verifySeconds: 0,
  promoteGate: false,
  mode: 'update',
  ...extra,
});

function rolling(targets: PlanTarget[], batchSize: number, intervalSeconds: number): RolloutStep[] {
  const steps: RolloutStep[] = [];
  for (let i = 0; i < targets.length; i += batchSize) {
    steps.push(step(`batch-${steps.length + 1}`, 'batch', targets.slice(i, i + batchSize).map((t) => t.name), { delaySeconds: i === 0 ? 0 : intervalSeconds }));
  }
  return steps;
}

/**
 * Multi-cluster ordered canary: steps by priority. A step with `canaryPercent` (and not `fullRollout`) runs
 * an in-workload canary at that share on each of its targets; any other step rolls its targets out fully.
 * Targets that only ever had a canary are rolled out fully in a final step, so every target ends updated.
 */
function clusterOrder(targets: PlanTarget[], order: readonly ClusterOrderStep[], autoPromote: boolean): RolloutStep[] {
  const known = new Set(targets.map((t) => t.name));
  const done = new Set<string>();
  const canaried = new Set<string>();
  const steps: RolloutStep[] = [];
  for (const s of [...order].sort((a, b) => a.priority - b.priority)) {
    const missing = s.targets.filter((t) => !known.has(t));
    if (missing.length > 0) throw new PlanError(`clusterOrder step ${s.priority} names targets not in the environment: ${missing.join(', ')}`);
    const remaining = s.targets.filter((t) => !done.has(t)).sort();
    const canary = s.canaryPercent !== undefined && !s.fullRollout;
    for (const t of remaining) (canary ? canaried : done).add(t);
    steps.push(step(`cluster-${s.priority}`, 'cluster', remaining, {
      approvalRequired: s.approvalRequired ?? false,
      verifySeconds: s.verifySeconds ?? 0,
      ...(canary ? { mode: 'canary' as const, canaryPercent: s.canaryPercent!, promoteGate: !autoPromote } : {}),
    }));
  }
  const left = targets.filter((t) => !done.has(t.name) && !canaried.has(t.name));
  if (left.length > 0) throw new PlanError(`targets not covered by any clusterOrder step: ${left.map((t) => t.name).join(', ')}`);
  const unfinished = [...canaried].filter((t) => !done.has(t)).sort();
  if (unfinished.length > 0) steps.push(step('full', 'batch', unfinished));
  return steps;
}

/**
 * The plan for one environment. `strategy` is the defaulted spec (type rolling when absent). Throws
 * PlanError for plans that cannot work (no targets, canary targets outside the environment).
 */
export function planRollout(strategy: Strategy | undefined, targets: readonly PlanTarget[]): RolloutPlan {
  if (targets.length === 0) throw new PlanError('no targets matched');
  const ordered = orderTargets(targets);
  const type = strategy?.type ?? 'rolling';
  if (type === 'blueGreen') {
    return {
      strategy: 'blueGreen',
      autoRollback: true,
      keepOldVersion: strategy?.blueGreen?.keepOldVersion ?? true,
      steps: [step('blue-green', 'blueGreen', ordered.map((t) => t.name), { mode: 'blueGreen', verifySeconds: 0 })],
    };
  }
  if (type === 'rolling') {
    const r = strategy?.rolling;
    return { strategy: 'rolling', autoRollback: false, steps: rolling(ordered, r?.batchSize ?? 1, r?.batchIntervalSeconds ?? 0) };
  }
  const c = strategy?.canary;
  if (!c) throw new PlanError('a canary strategy needs its canary settings');
  const verifySeconds = c.verifySeconds ?? 300;
  const autoRollback = c.autoRollback ?? true;
  if (c.clusterOrder) return { strategy: 'canary', autoRollback, steps: clusterOrder(ordered, c.clusterOrder, c.autoPromote ?? false) };
  if (c.percent !== undefined && c.percent < 100 && ordered.length === 1) {
    // One target cannot be split by targets: the canary runs inside its workload, then the workload follows.
    const only = [ordered[0]!.name];
    return {
      strategy: 'canary',
      autoRollback,
      steps: [
        step('canary', 'canary', only, { verifySeconds, promoteGate: !(c.autoPromote ?? false), mode: 'canary', canaryPercent: c.percent }),
        step('full', 'batch', only),
      ],
    };
  }
  let canary: PlanTarget[];
  if (c.percent !== undefined) canary = ordered.slice(0, shareOf(ordered.length, c.percent));
  else if (c.targets) {
    const missing = c.targets.filter((name) => !ordered.some((t) => t.name === name));
    if (missing.length > 0) throw new PlanError(`canary targets not in the environment: ${missing.join(', ')}`);
    canary = ordered.filter((t) => c.targets!.includes(t.name));
  } else if (c.selector) {
    const matches = labelSelectorFromObject(c.selector);
    canary = ordered.filter((t) => matches(t.labels ?? {}));
    if (canary.length === 0) throw new PlanError('the canary selector matches none of the environment\'s targets');
  } else {
    throw new PlanError('a canary needs percent, targets, selector or clusterOrder');
  }
  const rest = ordered.filter((t) => !canary.includes(t)).map((t) => t.name);
  const steps = [step('canary', 'canary', canary.map((t) => t.name), { verifySeconds, promoteGate: !(c.autoPromote ?? false) && rest.length > 0 })];
  if (rest.length > 0) steps.push(step('full', 'batch', rest));
  return { strategy: 'canary', autoRollback, steps };
}
