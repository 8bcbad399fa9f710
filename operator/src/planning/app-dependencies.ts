/**
 * Service dependencies between the ReleaseApps of one release: the graph checks, the deploy order, and the
 * gate that decides whether a target may start, wait, or fail because of the apps it hosts. Pure.
 */
import type { TargetRunPhase } from '../api/release.ts';
import { findCycle, topologicalOrder, type DependencyGraph } from '../validation/dag.ts';

/** One app of a release with its dependencies, after defaulting (required, waitReady true; 300 s). */
export interface AppDependencyNode {
  app: string;
  dependsOn: { app: string; required: boolean; waitReady: boolean; timeoutSeconds: number }[];
}

export interface AppGraphProblem {
  kind: 'cycle' | 'self' | 'missing';
  /** The app whose `dependsOn` entry naming `dependency` is at fault (for a cycle: the first edge of it). */
  app: string;
  dependency: string;
  message: string;
}

export type AppState = 'absent' | 'pending' | 'deploying' | 'ready' | 'failed';

export type DependencyGate =
  | { kind: 'go'; note?: string }
  | { kind: 'wait'; reason: string; requeueAfterMs?: number }
  | { kind: 'fail'; reason: string };

/**
 * Edges app → dependencies. Self-edges are left out: they are reported as a problem of their own, and an
 * app trivially deploys together with itself. An app listed twice keeps the union of its dependencies.
 */
function dependencyGraph(apps: readonly AppDependencyNode[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const { app, dependsOn } of apps) {
    const deps = graph.get(app) ?? [];
    for (const dep of dependsOn) if (dep.app !== app && !deps.includes(dep.app)) deps.push(dep.app);
    graph.set(app, deps);
  }
  return graph;
}

const cycleMessage = (cycle: readonly string[]) => `ReleaseApp dependency cycle: ${cycle.join(' -> ')}`;

/**
 * Self-dependencies and missing required dependencies in input order, then the first cycle in input
 * order (one at a time: a second cycle shows once the first is broken, as for pipeline tasks).
 * An optional dependency on an app outside the release is not a problem: the gate ignores it.
 */
export function appGraphIssues(apps: readonly AppDependencyNode[], release: string): AppGraphProblem[] {
  const inRelease = new Set(apps.map((a) => a.app));
  const problems: AppGraphProblem[] = [];
  for (const { app, dependsOn } of apps) {
    for (const dep of dependsOn) {
      if (dep.app === app) problems.push({ kind: 'self', app, dependency: app, message: `app ${app} depends on itself` });
      else if (dep.required && !inRelease.has(dep.app)) {
        problems.push({ kind: 'missing', app, dependency: dep.app, message: `app ${app} requires ${dep.app}, which is not part of release ${release}` });
      }
    }
  }
  const cycle = findCycle(dependencyGraph(apps));
  if (cycle) problems.push({ kind: 'cycle', app: cycle[0] ?? '', dependency: cycle[1] ?? '', message: cycleMessage(cycle) });
  return problems;
}

export function appGraphProblems(apps: readonly AppDependencyNode[], release: string): string[] {
  return appGraphIssues(apps, release).map((p) => p.message);
}

/**
 * Apps grouped so that each layer depends only on earlier ones: an app sits one layer after its deepest
 * dependency. Within a layer apps keep their input order. Dependencies outside the release are ignored;
 * a cycle throws (validation rejects it first).
 */
export function deployLayers(apps: readonly AppDependencyNode[]): string[][] {
  const graph: DependencyGraph = dependencyGraph(apps);
  const cycle = findCycle(graph);
  if (cycle) throw new Error(cycleMessage(cycle));
  const depth = new Map<string, number>();
  for (const app of topologicalOrder(graph)) {
    const deps = (graph.get(app) ?? []).filter((d) => graph.has(d));
    depth.set(app, Math.max(-1, ...deps.map((d) => depth.get(d) ?? 0)) + 1);
  }
  const layers: string[][] = [];
  for (const app of graph.keys()) {
    const layer = depth.get(app) ?? 0;
    (layers[layer] ??= []).push(app);
  }
  return layers;
}

const DONE = new Set<TargetRunPhase>(['Succeeded', 'Skipped']);
const BROKEN = new Set<TargetRunPhase>(['Failed', 'RolledBack', 'RollingBack', 'Cancelled']);
const ACTIVE = new Set<TargetRunPhase>(['Running', 'Verifying']);

/**
 * The state of each app from the phases of the targets hosting it (in one environment). An app whose
 * rollout has begun but paused between batches (some targets Succeeded, others still Pending) counts as
 * deploying, not pending: otherwise an order-only dependant would flip between going and waiting.
 */
export function appStates(
  hosting: ReadonlyMap<string, readonly string[]>,
  targetPhase: (target: string) => TargetRunPhase | undefined,
): Map<string, AppState> {
  const states = new Map<string, AppState>();
  for (const [app, targets] of hosting) {
    const phases = targets.map(targetPhase);
    let state: AppState;
    if (phases.length === 0) state = 'absent';
    else if (phases.some((p) => p !== undefined && BROKEN.has(p))) state = 'failed';
    else if (phases.every((p) => p !== undefined && DONE.has(p))) state = 'ready';
    else if (phases.some((p) => p !== undefined && (ACTIVE.has(p) || p === 'Succeeded'))) state = 'deploying';
    else state = 'pending';
    states.set(app, state);
  }
  return states;
}

/**
 * Whether `node` may deploy now. Failures win over waiting: there is no point waiting for one dependency
 * when another already broke the app. Every unmet dependency is named with its state, never with a
 * countdown, so the reason only changes when something happens; `requeueAfterMs` brings the next pass to
 * the nearest timeout. A dependency times out once `timeoutSeconds` have passed since `waitingSince`
 * (no `waitingSince`: the wait starts now).
 */
export function dependencyGate(
  node: AppDependencyNode,
  state: (app: string) => AppState,
  waitingSince: Date | undefined,
  now: Date,
): DependencyGate {
  const waitedMs = waitingSince ? Math.max(0, now.getTime() - waitingSince.getTime()) : 0;
  const failures: string[] = [];
  const notes: string[] = [];
  const toBeReady: string[] = [];
  const toStart: string[] = [];
  let requeueAfterMs = Infinity;
  for (const dep of node.dependsOn) {
    if (dep.app === node.app) continue;
    const current = state(dep.app);
    if (current === 'absent') {
      if (dep.required) failures.push(`dependency ${dep.app} is not hosted by any target`);
      continue;
    }
    if (current === 'failed') {
      if (dep.required) failures.push(`dependency ${dep.app} failed`);
      else notes.push(`optional dependency ${dep.app} failed; deploying without it`);
      continue;
    }
    if (current === 'ready' || (!dep.waitReady && current === 'deploying')) continue;
    const timeoutMs = dep.timeoutSeconds * 1000;
    if (waitedMs >= timeoutMs) {
      const unmet = `dependency ${dep.app} ${dep.waitReady ? 'is not ready' : 'has not started'} after ${dep.timeoutSeconds}s`;
      if (dep.required) failures.push(unmet);
      else notes.push(`optional ${unmet}; deploying without it`);
      continue;
    }
    (dep.waitReady ? toBeReady : toStart).push(`${dep.app} (${current})`);
    requeueAfterMs = Math.min(requeueAfterMs, timeoutMs - waitedMs);
  }
  if (failures.length > 0) return { kind: 'fail', reason: failures.join('; ') };
  if (toBeReady.length > 0 || toStart.length > 0) {
    const waits = [
      ...(toBeReady.length > 0 ? [`${toBeReady.join(', ')} to be ready`] : []),
      ...(toStart.length > 0 ? [`${toStart.join(', ')} to start`] : []),
    ];
    return { kind: 'wait', reason: `waiting for ${waits.join(' and for ')}`, requeueAfterMs };
  }
  return notes.length > 0 ? { kind: 'go', note: notes.join('; ') } : { kind: 'go' };
}

/**
 * The gate of a target: the gates of the apps it hosts, combined (any failure fails, else any wait waits).
 * Dependencies between apps of the same target are left out, since they deploy together. When the target
 * hosts several apps, each reason says which app it is about.
 */
export function targetGate(
  targetApps: readonly string[],
  nodes: readonly AppDependencyNode[],
  state: (app: string) => AppState,
  waitingSince: Date | undefined,
  now: Date,
): DependencyGate {
  const apps = [...new Set(targetApps)];
  const together = new Set(apps);
  const gates = apps.map((app) => {
    const dependsOn = nodes.filter((n) => n.app === app).flatMap((n) => n.dependsOn).filter((d) => !together.has(d.app));
    return { app, gate: dependencyGate({ app, dependsOn }, state, waitingSince, now) };
  });
  const about = (app: string, text: string) => (apps.length > 1 ? `${app}: ${text}` : text);
  const failures = gates.flatMap(({ app, gate }) => (gate.kind === 'fail' ? [about(app, gate.reason)] : []));
  if (failures.length > 0) return { kind: 'fail', reason: failures.join('; ') };
  const waits = gates.flatMap(({ app, gate }) => (gate.kind === 'wait' ? [{ reason: about(app, gate.reason), after: gate.requeueAfterMs }] : []));
  if (waits.length > 0) {
    const after = waits.flatMap((w) => (w.after === undefined ? [] : [w.after]));
    return { kind: 'wait', reason: waits.map((w) => w.reason).join('; '), ...(after.length > 0 ? { requeueAfterMs: Math.min(...after) } : {}) };
  }
  const notes = gates.flatMap(({ app, gate }) => (gate.kind === 'go' && gate.note ? [about(app, gate.note)] : []));
  return notes.length > 0 ? { kind: 'go', note: notes.join('; ') } : { kind: 'go' };
}
