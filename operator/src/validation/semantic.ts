/**
 * Checks a schema cannot express, shared by `shipway validate` and the operator (which shows them as a
 * condition). Input is a spec after schema validation and defaulting.
 */
import type { PipelineSpec } from '../api/pipeline.ts';
import type { ReleaseSpec } from '../api/release.ts';
import type { ReleaseAppSpec } from '../api/release-app.ts';
import { Cron } from 'croner';
import { appGraphIssues } from '../planning/app-dependencies.ts';
import { findCycle } from './dag.ts';
import type { ValidationIssue } from './issue.ts';

const semantic = (path: string, message: string): ValidationIssue => ({ path, message, source: 'semantic' });

export function duplicateEnvironmentNames(spec: Pick<ReleaseSpec, 'environments'>): ValidationIssue[] {
  const seen = new Map<string, number>();
  const issues: ValidationIssue[] = [];
  spec.environments.forEach((env, i) => {
    const first = seen.get(env.name);
    if (first === undefined) seen.set(env.name, i);
    else issues.push(semantic(`spec.environments[${i}].name`, `duplicate environment name "${env.name}" (also spec.environments[${first}])`));
  });
  return issues;
}

/** Explicit canary targets must be among the environment's named targets, or they would never be reached. */
export function canaryTargetsOutsideEnvironment(spec: Pick<ReleaseSpec, 'environments'>): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  spec.environments.forEach((env, i) => {
    const names = env.targets?.names;
    const canary = env.strategy?.canary;
    if (!names || !canary) return;
    const known = new Set(names);
    (canary.targets ?? []).forEach((t, j) => {
      if (!known.has(t)) issues.push(semantic(`spec.environments[${i}].strategy.canary.targets[${j}]`, `canary target "${t}" is not among the environment's targets`));
    });
    (canary.clusterOrder ?? []).forEach((step, j) => {
      step.targets.forEach((t, k) => {
        if (!known.has(t)) issues.push(semantic(`spec.environments[${i}].strategy.canary.clusterOrder[${j}].targets[${k}]`, `target "${t}" is not among the environment's targets`));
      });
    });
  });
  return issues;
}

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** Cron expressions parse (croner) and time zones exist (the runtime's IANA database). */
export function scheduleAndWindowIssues(spec: Pick<ReleaseSpec, 'schedule' | 'environments'>): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const { schedule } = spec;
  if (schedule?.timezone && !isTimeZone(schedule.timezone)) {
    issues.push(semantic('spec.schedule.timezone', `unknown time zone "${schedule.timezone}"`));
  }
  if (schedule?.cron) {
    try {
      new Cron(schedule.cron, { paused: true, mode: '5-or-6-parts' }); // as the release machine reads it
    } catch (error) {
      issues.push(semantic('spec.schedule.cron', `invalid cron expression: ${(error as Error).message.replace(/^CronPattern: /, '')}`));
    }
  }
  spec.environments.forEach((env, i) => {
    const zone = env.window?.timezone;
    if (zone && !isTimeZone(zone)) issues.push(semantic(`spec.environments[${i}].window.timezone`, `unknown time zone "${zone}"`));
  });
  return issues;
}

/**
 * Task ids are unique across the pipeline; `dependsOn` names a task of the same or an earlier stage
 * (stages run in order, so a later one could never be done first); dependencies form no cycle.
 */
export function pipelineTaskGraphIssues(spec: PipelineSpec): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const stageOf = new Map<string, number>();
  spec.stages.forEach((stage, s) => {
    stage.tasks.forEach((task, t) => {
      const earlier = stageOf.get(task.id);
      if (earlier !== undefined) issues.push(semantic(`spec.stages[${s}].tasks[${t}].id`, `duplicate task id "${task.id}" (also in stage "${spec.stages[earlier]?.name}")`));
      else stageOf.set(task.id, s);
    });
  });
  spec.stages.forEach((stage, s) => {
    const graph = new Map<string, string[]>();
    stage.tasks.forEach((task, t) => {
      graph.set(task.id, [...(task.dependsOn ?? [])]);
      (task.dependsOn ?? []).forEach((dep, d) => {
        const at = `spec.stages[${s}].tasks[${t}].dependsOn[${d}]`;
        const depStage = stageOf.get(dep);
        if (depStage === undefined) issues.push(semantic(at, `task "${task.id}" depends on unknown task "${dep}"`));
        else if (depStage > s) issues.push(semantic(at, `task "${task.id}" depends on "${dep}" of a later stage ("${spec.stages[depStage]?.name}")`));
      });
    });
    const cycle = findCycle(graph);
    if (cycle) issues.push(semantic(`spec.stages[${s}].tasks`, `dependency cycle: ${cycle.join(' -> ')}`));
  });
  return issues;
}

export function releaseAppIssues(spec: ReleaseAppSpec): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  (spec.dependsOn ?? []).forEach((dep, i) => {
    if (seen.has(dep.app)) issues.push(semantic(`spec.dependsOn[${i}].app`, `duplicate dependency on "${dep.app}"`));
    seen.add(dep.app);
  });
  return issues;
}

/** An issue of the object at `object` in the list given to a check across objects. */
export interface ObjectIssue {
  object: number;
  issue: ValidationIssue;
}

/**
 * The ReleaseApps of one Release (same namespace and spec.release) form a DAG: no self-dependency, no
 * cycle, and every required dependency is an app of the release. Missing dependencies are only reported
 * when the Release itself is among the objects: validating a few files of a release is common, and the
 * other apps are then simply elsewhere.
 */
export function releaseAppGraphIssues(objects: readonly Record<string, unknown>[]): ObjectIssue[] {
  const key = (namespace: unknown, name: unknown) => `${typeof namespace === 'string' ? namespace : ''}/${String(name)}`;
  const releases = new Set<string>();
  const groups = new Map<string, { release: string; members: { object: number; spec: ReleaseAppSpec }[] }>();
  objects.forEach((object, index) => {
    const meta = object.metadata as { name?: unknown; namespace?: unknown } | undefined;
    if (object.kind === 'Release') releases.add(key(meta?.namespace, meta?.name));
    if (object.kind !== 'ReleaseApp') return;
    const spec = object.spec as ReleaseAppSpec;
    const group = key(meta?.namespace, spec.release);
    const members = groups.get(group)?.members ?? [];
    members.push({ object: index, spec });
    groups.set(group, { release: spec.release, members });
  });
  const issues: ObjectIssue[] = [];
  for (const [group, { release, members }] of groups) {
    const nodes = members.map(({ spec }) => ({ app: spec.app, dependsOn: spec.dependsOn ?? [] }));
    for (const problem of appGraphIssues(nodes, release)) {
      if (problem.kind === 'missing' && !releases.has(group)) continue;
      // An app listed by two ReleaseApps: the one holding the dependency is the one to fix.
      const located = members
        .filter(({ spec }) => spec.app === problem.app)
        .map(({ object, spec }) => ({ object, at: (spec.dependsOn ?? []).findIndex((d) => d.app === problem.dependency) }));
      const member = located.find(({ at }) => at >= 0) ?? located[0];
      if (!member) continue;
      issues.push({ object: member.object, issue: semantic(member.at < 0 ? 'spec.dependsOn' : `spec.dependsOn[${member.at}]`, problem.message) });
    }
  }
  return issues;
}

/**
 * Checks that need several objects, over objects that passed their own checks (with defaults applied, as
 * ManifestValidator returns them).
 */
export function crossObjectIssues(objects: readonly Record<string, unknown>[]): ObjectIssue[] {
  return releaseAppGraphIssues(objects);
}

export function semanticIssues(kind: string, spec: unknown): ValidationIssue[] {
  switch (kind) {
    case 'Release': {
      const release = spec as ReleaseSpec;
      return [...duplicateEnvironmentNames(release), ...canaryTargetsOutsideEnvironment(release), ...scheduleAndWindowIssues(release)];
    }
    case 'Pipeline':
      return pipelineTaskGraphIssues(spec as PipelineSpec);
    case 'ReleaseApp':
      return releaseAppIssues(spec as ReleaseAppSpec);
    default:
      return [];
  }
}
