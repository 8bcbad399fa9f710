/**
 * The release state machine (SPEC "Release flow"), pure: from the Release's current status, what the
 * controller observed (targets per environment, what the target runner reports, approval decisions) and
 * at most one pending action, it computes the next status and the effects to carry out. Effects are
 * "ensure" requests — the runner deduplicates them by key — so the machine can be run again on the same
 * input, after a crash or on every event, without doing anything twice.
 */
import type { Environment, EnvironmentRun, ReleaseSpec, ReleaseStatus, StepState, TargetDeployMode, TargetRun, TargetRunPhase } from '../api/release.ts';
import { planRollout, PlanError, type PlanTarget, type RolloutPlan, type RolloutStep } from './rollout-plan.ts';
import { kubeTime } from '../api/kube-time.ts';
import type { NotificationEvent } from '../api/notifications.ts';
import { appStates, targetGate, type AppDependencyNode } from './app-dependencies.ts';
import { isEmergencyUser, windowVerdict } from './release-window.ts';
import { scheduledStart } from './release-schedule.ts';

export const ACTIONS = ['start', 'promote', 'approve', 'reject', 'pause', 'resume', 'cancel', 'retry', 'rollback'] as const;

/** The targets an action names, from `shipway.dev/action-target` (comma-separated); none: all of them. */
export function actionTargets(action: Pick<ReleaseAction, 'target'>): string[] {
  return action.target ? action.target.split(',') : [];
}
export type ActionName = (typeof ACTIONS)[number];

export interface ReleaseAction {
  action: ActionName;
  target?: string;
  actor?: string;
  comment?: string;
  /** start/promote as an emergency release: outside the window, without canary verification. */
  emergency?: boolean;
  /** rollback past a db_migrate that has run. */
  force?: boolean;
  /** rollback: quick (previous revision, here) or redeploy (a new Release; the controller creates it). */
  rollbackKind?: 'quick' | 'redeploy';
  rollbackVersion?: string;
}

/** What the target runner knows about one target of one environment (keyed `env/target`). */
export interface TargetWork {
  deploy?: {
    attempt: number;
    /** The rollout step the work belongs to (a target has two with an in-workload canary). */
    step?: number;
    state: 'running' | 'succeeded' | 'failed';
    error?: string;
    /** A stage with `onError: rollback` failed. */
    wantsRollback?: boolean;
    /** A db_migrate task of this deploy has succeeded: a rollback past it needs force. */
    migrated?: boolean;
    currentStep?: string;
    version?: string;
    previousVersion?: string;
    stages?: TargetRun['stages'];
    startedAt?: string;
    finishedAt?: string;
  };
  verify?: { attempt: number; step?: number; state: 'running' | 'succeeded' | 'failed'; error?: string };
  rollback?: { round: number; state: 'running' | 'succeeded' | 'failed'; error?: string };
}

export type ApprovalDecision = 'approved' | 'rejected' | 'pending' | 'expired';

export interface EnvironmentInput {
  name: string;
  targets: PlanTarget[];
  /** Why the targets could not be resolved (no match, unknown names). */
  error?: string;
}

export interface MachineInput {
  now: Date;
  spec: ReleaseSpec;
  status: ReleaseStatus;
  /** Problems that stop the release from starting (unknown pipeline, invalid spec); shown as a condition. */
  problems: string[];
  environments: EnvironmentInput[];
  work: ReadonlyMap<string, TargetWork>;
  approvals: ReadonlyMap<string, ApprovalDecision>;
  action?: ReleaseAction;
  /** The Release's creation time: a cron schedule starts at its first occurrence after it. */
  createdAt?: Date;
  /** The version to record (spec.version, or the one chosen for `auto`). */
  version?: string;
  /** Members of approver groups (absent group = no members known). */
  groupMembers?: ReadonlyMap<string, readonly string[]>;
  /** The ReleaseApps' dependency graph and which apps each target hosts. */
  apps?: { nodes: AppDependencyNode[]; targetApps: ReadonlyMap<string, readonly string[]> };
}

export type Effect =
  | { kind: 'deploy'; environment: string; target: string; attempt: number; stepIndex: number; mode: TargetDeployMode; canaryPercent?: number; keepOldVersion?: boolean }
  | { kind: 'verify'; environment: string; target: string; attempt: number; stepIndex: number; mode: TargetDeployMode }
  | { kind: 'rollback'; environment: string; target: string; round: number; toVersion?: string; reason: string; mode: TargetDeployMode }
  | { kind: 'requestApproval'; key: string; environment: string; step?: number; approvers: string[]; groups: string[]; expiresAt?: string }
  | { kind: 'decideApproval'; key: string; environment: string; step?: number; approved: boolean; actor?: string; comment?: string }
  | { kind: 'cancelRunning' }
  /** Tell people (notification rules); `key` makes each notification go out once. */
  | { kind: 'notify'; event: NotificationEvent; key: string; environment?: string; approvers?: string[]; message?: string }
  | { kind: 'event'; type: 'Normal' | 'Warning'; reason: string; message: string };

export interface ActionResult {
  result: 'Applied' | 'Rejected';
  message: string;
}

export interface MachineOutput {
  status: ReleaseStatus;
  effects: Effect[];
  /** Look again after this long (a delay, a verify window, a schedule); undefined = only on events. */
  requeueAfterMs?: number;
  actionResult?: ActionResult;
}

const TERMINAL = new Set(['Succeeded', 'Failed', 'Cancelled', 'RolledBack']);
export const isTerminal = (phase: string | undefined) => phase !== undefined && TERMINAL.has(phase);
const ACTIVE_ENV = new Set(['Waiting', 'Approving', 'Deploying', 'Verifying']);
const DONE_TARGET = new Set<TargetRunPhase>(['Succeeded', 'Skipped']);
const UPDATED_TARGET = new Set<TargetRunPhase>(['Running', 'Verifying', 'Succeeded', 'Failed']);

export const workKey = (environment: string, target: string) => `${environment}/${target}`;
export const environmentApprovalKey = (environment: string) => `env/${environment}`;
export const stepApprovalKey = (environment: string, step: number) => `step/${environment}/${step}`;

const ms = (a: string | undefined) => (a ? Date.parse(a) : NaN);

class Pass {
  readonly effects: Effect[] = [];
  requeueAfterMs?: number;
  actionResult?: ActionResult;
  /** Decisions known so far, including one an approve/reject action makes in this pass. */
  readonly approvals: Map<string, ApprovalDecision>;
  constructor(
    readonly input: MachineInput,
    readonly status: ReleaseStatus,
  ) {
    this.approvals = new Map(input.approvals);
  }

  get now() {
    return this.input.now;
  }

  requeue(afterMs: number) {
    const at = Math.max(0, Math.ceil(afterMs));
    this.requeueAfterMs = this.requeueAfterMs === undefined ? at : Math.min(this.requeueAfterMs, at);
  }

  private readonly seen = new Set<string>();

  /** The drive loop may visit a step twice in one pass; each effect is asked for once. */
  add(effect: Effect) {
    const key = JSON.stringify(effect);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.effects.push(effect);
  }

  event(type: 'Normal' | 'Warning', reason: string, message: string) {
    this.add({ kind: 'event', type, reason, message });
  }
}

/** One step of the machine. The input is not modified. */
export function advance(input: MachineInput): MachineOutput {
  const status: ReleaseStatus = structuredClone(input.status ?? {});
  const pass = new Pass(input, status);
  initialise(pass);
  if (input.action) applyAction(pass, input.action);
  syncTargets(pass);
  if (!isTerminal(status.phase)) drive(pass);
  else finishRollbacks(pass);
  requestRollbacks(pass);
  summarise(pass);
  return { status, effects: pass.effects, requeueAfterMs: pass.requeueAfterMs, actionResult: pass.actionResult };
}

function initialise(pass: Pass) {
  const { status, input } = pass;
  status.phase ??= 'Pending';
  status.version ??= input.version ?? input.spec.version;
  const known = new Map((status.environments ?? []).map((e) => [e.name, e]));
  status.environments = input.spec.environments.map((env) => known.get(env.name) ?? { name: env.name, phase: 'Pending' });
}

function envSpec(pass: Pass, name: string): Environment {
  return pass.input.spec.environments.find((e) => e.name === name)!;
}

function envInput(pass: Pass, name: string): EnvironmentInput | undefined {
  return pass.input.environments.find((e) => e.name === name);
}

function currentEnv(pass: Pass): EnvironmentRun | undefined {
  return pass.status.environments!.find((e) => e.phase !== 'Succeeded');
}

function planFor(pass: Pass, env: EnvironmentRun): RolloutPlan | string {
  const inp = envInput(pass, env.name);
  if (!inp) return `environment "${env.name}" was not resolved`;
  if (inp.error) return inp.error;
  try {
    return planRollout(envSpec(pass, env.name).strategy, inp.targets);
  } catch (error) {
    if (error instanceof PlanError) return `environment "${env.name}": ${error.message}`;
    throw error;
  }
}

function targetRun(env: EnvironmentRun, name: string): TargetRun | undefined {
  return env.targets?.find((t) => t.name === name);
}

function ensureTargetRun(env: EnvironmentRun, name: string, stepIndex: number, step: RolloutStep): TargetRun {
  let run = targetRun(env, name);
  const mode = (previous?: TargetDeployMode): TargetDeployMode => (step.mode === 'update' && previous === 'canary' ? 'promote' : step.mode);
  if (!run) {
    run = { name, phase: 'Pending', batch: stepIndex, attempt: 1, mode: mode() };
    env.targets = [...(env.targets ?? []), run];
  } else if (run.batch !== stepIndex && DONE_TARGET.has(run.phase)) {
    // A later step of the same target: the canary's promotion.
    run.mode = mode(run.mode);
    run.phase = 'Pending';
    run.batch = stepIndex;
    delete run.finishedAt;
    delete run.error;
  }
  return run;
}

function setStep(pass: Pass, env: EnvironmentRun, step: number, state: StepState) {
  env.step = step;
  env.stepState = state;
  env.stepSince = kubeTime(pass.now);
  delete env.waitingFor;
}

function finishRelease(pass: Pass, phase: 'Succeeded' | 'Failed' | 'Cancelled' | 'RolledBack', message: string) {
  const { status } = pass;
  if (status.phase === phase) return;
  status.phase = phase;
  status.message = message;
  status.finishedAt = kubeTime(pass.now);
  pass.event(phase === 'Succeeded' ? 'Normal' : 'Warning', phase, message);
  if (phase === 'Cancelled') return;
  // A retried release can fail again: the attempts in play tell the two failures apart.
  const attempts = (status.environments ?? []).flatMap((e) => e.targets ?? []).reduce((n, t) => n + (t.attempt ?? 1), 0);
  const event = phase === 'Succeeded' ? 'release_success' : 'release_failed';
  pass.add({ kind: 'notify', event, key: `${event}/${attempts}`, ...(status.currentEnvironment ? { environment: status.currentEnvironment } : {}), message });
}

/** Who may decide an approval: the named approvers, and the members of the named groups. */
function approverList(pass: Pass, env: string): { approvers: string[]; groups: string[]; everyone: string[] } {
  const approval = envSpec(pass, env).approval;
  const approvers = approval?.approvers ?? [];
  const groups = approval?.groups ?? [];
  const members = groups.flatMap((g) => [...(pass.input.groupMembers?.get(g) ?? [])]);
  return { approvers, groups, everyone: [...new Set([...approvers, ...members])] };
}

function requestApproval(pass: Pass, env: EnvironmentRun, key: string, step?: number) {
  const approval = envSpec(pass, env.name).approval;
  const { approvers, groups } = approverList(pass, env.name);
  const expiry = approval?.expirySeconds;
  pass.add({
    kind: 'requestApproval', key, environment: env.name, ...(step !== undefined ? { step } : {}), approvers, groups,
    // Recorded once (the first request wins), so a later pass asking again does not move the expiry.
    ...(expiry ? { expiresAt: kubeTime(new Date(pass.now.getTime() + expiry * 1000)) } : {}),
  });
  pass.add({ kind: 'notify', event: 'approval_required', key: `approval_required/${key}`, environment: env.name, approvers: [...approvers, ...groups.map((g) => `group ${g}`)] });
}

// ---------------------------------------------------------------------------------------------- actions

function reject(pass: Pass, message: string) {
  pass.actionResult = { result: 'Rejected', message };
}

function applied(pass: Pass, message: string) {
  pass.actionResult = { result: 'Applied', message };
  pass.event('Normal', 'ActionApplied', message);
}

function applyAction(pass: Pass, action: ReleaseAction) {
  const { status } = pass;
  const who = action.actor ? ` by ${action.actor}` : '';
  const env = currentEnv(pass);
  switch (action.action) {
    case 'pause':
      if (isTerminal(status.phase)) return reject(pass, `the release is ${status.phase}`);
      if (status.pausedByAction) return reject(pass, 'the release is already paused');
      status.pausedByAction = true;
      return applied(pass, `paused${who}`);
    case 'resume':
      if (!status.pausedByAction) return reject(pass, pass.input.spec.paused ? 'the release is paused by spec.paused; set it to false' : 'the release is not paused');
      status.pausedByAction = false;
      return applied(pass, `resumed${who}`);
    case 'cancel':
      if (isTerminal(status.phase)) return reject(pass, `the release is already ${status.phase}`);
      pass.add({ kind: 'cancelRunning' });
      for (const e of status.environments ?? []) {
        for (const t of e.targets ?? []) if (!DONE_TARGET.has(t.phase) && t.phase !== 'RolledBack') t.phase = 'Cancelled';
        if (!isTerminal(e.phase)) e.phase = e.phase === 'Pending' ? 'Pending' : 'Cancelled';
      }
      finishRelease(pass, 'Cancelled', `cancelled${who}${action.comment ? `: ${action.comment}` : ''}`);
      return applied(pass, `cancelled${who}`);
    case 'start':
    case 'promote': {
      if (isTerminal(status.phase)) return reject(pass, `the release is ${status.phase}`);
      if (!env) return reject(pass, 'no environment is left to start');
      if (action.emergency) {
        const window = envSpec(pass, env.name).window;
        if (!window?.emergencyUsers?.length) return reject(pass, `environment ${env.name} names no emergency users (spec.environments[].window.emergencyUsers)`);
        if (!isEmergencyUser(window, action.actor)) return reject(pass, `${action.actor ?? 'an anonymous actor'} is not an emergency user of environment ${env.name}`);
        env.emergency = { actor: action.actor!, reason: action.comment ?? '', at: kubeTime(pass.now) };
        status.emergency = true;
        pass.event('Warning', 'EmergencyRelease', `environment ${env.name}: emergency release by ${action.actor}: ${action.comment ?? ''} (outside the window, no canary verification)`);
        if (env.phase !== 'Pending' && env.phase !== 'Waiting' && !(action.action === 'promote' && env.stepState === 'Promote')) {
          return applied(pass, `emergency${who}: environment ${env.name} goes on without window or canary verification`);
        }
      }
      if (env.phase === 'Pending' || env.phase === 'Waiting') {
        env.phase = 'Waiting';
        env.stepState = 'Delay';
        env.step = -1; // marks "released from Waiting"; the drive loop moves on to approval and the first step
        return applied(pass, `${action.action}${who}: environment ${env.name} started`);
      }
      if (action.action === 'promote' && env.stepState === 'Promote') {
        setStep(pass, env, (env.step ?? 0) + 1, 'Delay');
        return applied(pass, `promoted${who}: environment ${env.name} goes on to step ${(env.step ?? 0) + 1}`);
      }
      return reject(pass, `environment ${env.name} is ${env.phase}${env.stepState ? ` (${env.stepState})` : ''}; ${action.action} applies to a waiting environment${action.action === 'promote' ? ' or a canary waiting for promotion' : ''}`);
    }
    case 'approve':
    case 'reject': {
      if (!env || env.phase !== 'Approving') return reject(pass, `nothing waits for approval${env ? ` (environment ${env.name} is ${env.phase})` : ''}`);
      const stepGate = env.stepState === 'Approval' && (env.step ?? -1) >= 0;
      const { approvers, groups, everyone } = approverList(pass, env.name);
      if ((approvers.length > 0 || groups.length > 0) && (!action.actor || !everyone.includes(action.actor))) {
        const unknown = groups.filter((g) => !pass.input.groupMembers?.get(g)?.length);
        return reject(pass, `${action.actor ?? 'an anonymous actor'} is not among the approvers of environment ${env.name}` +
          ` (${[...approvers, ...groups.map((g) => `group ${g}`)].join(', ')})${unknown.length ? `; no members are known for group ${unknown.join(', ')}` : ''}`);
      }
      const key = stepGate ? stepApprovalKey(env.name, env.step!) : environmentApprovalKey(env.name);
      // No pass has seen the expiry yet (it came a moment ago, or while the operator was down): too late all the same.
      if (pass.approvals.get(key) === 'expired') return reject(pass, `the approval of ${stepGate ? `step ${env.step! + 1} of ` : ''}environment ${env.name} has expired`);
      pass.add({ kind: 'decideApproval', key, environment: env.name, ...(stepGate ? { step: env.step } : {}), approved: action.action === 'approve', actor: action.actor, comment: action.comment });
      // The controller records the decision; this pass acts on it already.
      pass.approvals.set(key, action.action === 'approve' ? 'approved' : 'rejected');
      return applied(pass, `${action.action === 'approve' ? 'approved' : 'rejected'}${who}: ${stepGate ? `step ${env.step! + 1} of ` : ''}environment ${env.name}`);
    }
    case 'retry': {
      if (status.phase !== 'Failed' && !action.target) return reject(pass, `retry applies to a Failed release (it is ${status.phase})`);
      const failedEnv = status.environments!.find((e) => e.phase === 'Failed' || (e.targets ?? []).some((t) => t.phase === 'Failed'));
      if (!failedEnv) return reject(pass, 'no failed target to retry');
      const named = actionTargets(action);
      const targets = (failedEnv.targets ?? []).filter((t) => t.phase === 'Failed' && (named.length === 0 || named.includes(t.name)));
      if (targets.length === 0) return reject(pass, action.target ? `${named.length > 1 ? 'targets' : 'target'} ${named.join(', ')} ${named.length > 1 ? 'have' : 'has'} not failed` : 'no failed target to retry');
      for (const t of targets) {
        t.attempt = (t.attempt ?? 1) + 1;
        t.phase = 'Pending';
        delete t.error;
        delete t.finishedAt;
      }
      failedEnv.phase = 'Deploying';
      delete failedEnv.frozen;
      failedEnv.stepState = 'Run';
      failedEnv.stepSince = kubeTime(pass.now);
      if (status.phase === 'Failed') {
        status.phase = 'Deploying';
        delete status.finishedAt;
        status.message = `retrying ${targets.map((t) => t.name).join(', ')}`;
      }
      return applied(pass, `retry${who}: ${targets.map((t) => `${t.name} (attempt ${t.attempt})`).join(', ')}`);
    }
    case 'rollback': {
      if (status.phase === 'Cancelled' && !action.target) return reject(pass, 'the release was cancelled');
      const named = actionTargets(action);
      const chosen: { env: EnvironmentRun; run: TargetRun }[] = [];
      for (const e of status.environments ?? []) {
        for (const t of e.targets ?? []) {
          if (named.length > 0 ? named.includes(t.name) : UPDATED_TARGET.has(t.phase)) chosen.push({ env: e, run: t });
        }
      }
      // A batch is taken whole or not at all: a typo must not roll back the other targets alone.
      const unknown = named.filter((name) => !chosen.some((c) => c.run.name === name));
      if (unknown.length > 0) return reject(pass, `${unknown.length > 1 ? 'targets' : 'target'} ${unknown.join(', ')} ${unknown.length > 1 ? 'have' : 'has'} not been deployed by this release`);
      if (chosen.length === 0) return reject(pass, 'no target has been deployed yet');
      const migrated = chosen.filter((c) => c.run.migrated && c.run.phase !== 'RolledBack');
      if (migrated.length > 0 && !action.force) {
        return reject(pass, `a db_migrate task has run on ${migrated.map((c) => c.run.name).join(', ')}: a rollback past it needs shipway.dev/force: "true"`);
      }
      for (const e of status.environments ?? []) if (e.frozen) delete e.frozen;
      const reason = `rollback requested${who}${action.comment ? `: ${action.comment}` : ''}`;
      const skipped = new Set<TargetRun>();
      for (const { run } of chosen) {
        if (run.phase === 'RolledBack' || run.phase === 'RollingBack') {
          skipped.add(run);
          continue;
        }
        run.phase = 'RollingBack';
        run.error = reason;
        // Kept in status: the version must survive a restart of the operator mid-rollback.
        if (action.rollbackVersion) run.rollbackTo = action.rollbackVersion;
        else delete run.rollbackTo;
      }
      if (!action.target) {
        pass.add({ kind: 'cancelRunning' });
        for (const e of status.environments ?? []) if ((e.targets ?? []).some((t) => t.phase === 'RollingBack')) e.rollbackReason = reason;
        status.message = reason;
      }
      const already = [...skipped].map((run) => `${run.name} (${run.phase})`).join(', ');
      const started = chosen.filter((c) => !skipped.has(c.run));
      if (started.length === 0) return reject(pass, `nothing to roll back: ${already}`);
      return applied(pass, `${reason} for ${started.map((c) => c.run.name).join(', ')}${action.rollbackVersion ? ` to ${action.rollbackVersion}` : ''}${skipped.size ? `; already ${already}` : ''}`);
    }
  }
}

// -------------------------------------------------------------------------------------------- targets

/** Copies what the runner reports into the target runs; starts rollbacks requested by a target's failure. */
function syncTargets(pass: Pass) {
  for (const env of pass.status.environments ?? []) {
    for (const run of env.targets ?? []) {
      const work = pass.input.work.get(workKey(env.name, run.name));
      const attempt = run.attempt ?? 1;
      if (run.phase === 'RollingBack') {
        const round = attempt;
        const rb = work?.rollback;
        if (rb && rb.round === round && rb.state === 'succeeded') {
          run.phase = 'RolledBack';
          run.finishedAt = kubeTime(pass.now);
          pass.event('Normal', 'TargetRolledBack', `${run.name} in ${env.name} rolled back to ${run.previousVersion ?? 'its previous revision'}`);
        } else if (rb && rb.round === round && rb.state === 'failed') {
          run.phase = 'Failed';
          run.error = `rollback failed: ${rb.error ?? 'unknown error'}`;
          run.finishedAt = kubeTime(pass.now);
          pass.event('Warning', 'RollbackFailed', `${run.name} in ${env.name}: ${rb.error ?? ''}`);
        }
        continue;
      }
      const d = work?.deploy;
      if (!d || d.attempt !== attempt || (d.step !== undefined && d.step !== run.batch)) continue;
      // The status schema bounds it (256); a step that quotes a long error must not make every status write fail.
      if (d.currentStep !== undefined) run.currentStep = d.currentStep.slice(0, 256);
      if (d.stages) run.stages = d.stages;
      if (d.version) run.version = d.version;
      if (d.previousVersion) run.previousVersion = d.previousVersion;
      if (d.migrated) run.migrated = true;
      if (d.startedAt) run.startedAt ??= d.startedAt;
      if (run.phase === 'Pending' || run.phase === 'Running') {
        if (d.state === 'running') run.phase = 'Running';
        else if (d.state === 'succeeded') {
          run.phase = 'Succeeded';
          run.finishedAt = d.finishedAt ?? kubeTime(pass.now);
        } else {
          run.phase = 'Failed';
          run.error = d.error ?? 'failed';
          run.finishedAt = d.finishedAt ?? kubeTime(pass.now);
          pass.event('Warning', 'TargetFailed', `${run.name} in ${env.name}: ${run.error}`);
        }
      }
    }
  }
}

/** Every target still rolling back is asked for again (the runner deduplicates by round). */
function requestRollbacks(pass: Pass) {
  for (const env of pass.status.environments ?? []) {
    for (const run of env.targets ?? []) {
      if (run.phase !== 'RollingBack') continue;
      // The version the rollback action named, else spec.rollback.targetVersion, else the version the target ran
      // before, else `rollout undo`.
      const toVersion = run.rollbackTo ?? pass.input.spec.rollback?.targetVersion ?? run.previousVersion;
      pass.add({ kind: 'rollback', environment: env.name, target: run.name, round: run.attempt ?? 1, ...(toVersion ? { toVersion } : {}), reason: run.error ?? 'rollback', mode: run.mode ?? 'update' });
    }
  }
}

function rollbackWanted(pass: Pass, env: EnvironmentRun, failed: TargetRun[]): boolean {
  const spec = envSpec(pass, env.name);
  if (pass.input.spec.rollback?.auto) return true;
  if (spec.strategy?.type === 'canary' && (spec.strategy.canary?.autoRollback ?? true)) return true;
  return failed.some((t) => pass.input.work.get(workKey(env.name, t.name))?.deploy?.wantsRollback);
}

/** Starts rolling back after a failure: every updated target of the environment, or only the failed ones. */
function startAutoRollback(pass: Pass, env: EnvironmentRun, failed: TargetRun[]) {
  const single = pass.input.spec.rollback?.granularity === 'single';
  const reason = `${failed.map((t) => `${t.name}: ${t.error ?? 'failed'}`).join('; ')}`;
  const chosen = single ? failed : (env.targets ?? []).filter((t) => UPDATED_TARGET.has(t.phase));
  const migrated = chosen.filter((t) => t.migrated);
  if (migrated.length > 0) return guardMigration(pass, env, failed, migrated, reason);
  for (const t of chosen) {
    if (t.phase !== 'Failed') t.error = `rolled back because ${reason}`;
    t.phase = 'RollingBack';
  }
  env.rollbackReason = reason;
  setStep(pass, env, env.step ?? 0, 'RollingBack');
  pass.status.message = `rolling back: ${reason}`;
  pass.event('Warning', 'RollingBack', `environment ${env.name}: ${reason}`);
  pass.add({ kind: 'cancelRunning' });
}

/**
 * A db_migrate has run: rolling the code back past it could run old code on a new schema. The release
 * either freezes (Failed, with the reason; a person forces a rollback or retries) or rolls forward once
 * (the failed targets get another attempt with the new version).
 */
function guardMigration(pass: Pass, env: EnvironmentRun, failed: TargetRun[], migrated: TargetRun[], reason: string) {
  const names = migrated.map((t) => t.name).join(', ');
  if (pass.input.spec.rollback?.migrationGuard === 'rollForward' && failed.every((t) => (t.attempt ?? 1) < 2)) {
    for (const t of failed) {
      t.attempt = (t.attempt ?? 1) + 1;
      t.phase = 'Pending';
      delete t.error;
      delete t.finishedAt;
    }
    setStep(pass, env, env.step ?? 0, 'Run');
    // Kept in waitingFor (not only the message, which the step rewrites) so the status says which way it went.
    env.waitingFor = `rolling forward: a db_migrate task ran on ${names}, so ${failed.map((t) => t.name).join(', ')} get one more attempt instead of a rollback (${reason})`;
    pass.event('Warning', 'RollingForward', `environment ${env.name}: ${env.waitingFor}`);
    return;
  }
  env.phase = 'Failed';
  env.frozen = `rollback refused: a db_migrate task ran on ${names}; the release is frozen (roll back with shipway.dev/force: "true", or retry) after ${reason}`;
  env.waitingFor = env.frozen;
  env.finishedAt = kubeTime(pass.now);
  pass.event('Warning', 'RollbackRefused', `environment ${env.name}: ${env.frozen}`);
}

/** A manual or automatic rollback in progress ends the release as RolledBack once nothing is left rolling back. */
function finishRollbacks(pass: Pass) {
  for (const env of pass.status.environments ?? []) {
    const rolling = (env.targets ?? []).filter((t) => t.phase === 'RollingBack');
    if (rolling.length > 0 || !env.rollbackReason) continue;
    const failed = (env.targets ?? []).filter((t) => t.phase === 'Failed');
    env.phase = failed.length > 0 && failed.some((t) => t.error?.startsWith('rollback failed')) ? 'Failed' : 'RolledBack';
    env.finishedAt ??= kubeTime(pass.now);
    const reason = env.rollbackReason;
    delete env.rollbackReason;
    if (env.phase === 'Failed') finishRelease(pass, 'Failed', `rollback failed in ${env.name}: ${failed.map((t) => t.error).join('; ')}`);
    else if (pass.status.phase !== 'Cancelled') finishRelease(pass, 'RolledBack', `rolled back: ${reason}`);
  }
}

// ---------------------------------------------------------------------------------------------- drive

function drive(pass: Pass) {
  const { status, input } = pass;
  if (input.problems.length > 0) {
    status.message = input.problems.join('; ');
    return;
  }
  finishRollbacks(pass);
  if (isTerminal(status.phase) || status.environments!.some((e) => (e.targets ?? []).some((t) => t.phase === 'RollingBack'))) return;

  if (input.spec.schedule && !status.startedAt) {
    // Computed once and kept in status: a restarted operator must not move a cron schedule to a later tick.
    if (!status.scheduledAt) {
      const start = scheduledStart(input.spec.schedule, input.createdAt ?? pass.now);
      if ('error' in start) {
        status.message = start.error;
        return;
      }
      status.scheduledAt = kubeTime(start.at);
    }
    const left = ms(status.scheduledAt) - pass.now.getTime();
    if (left > 0) {
      status.phase = 'Scheduled';
      status.message = `scheduled for ${status.scheduledAt}${input.spec.schedule.cron ? ` (cron ${input.spec.schedule.cron} ${input.spec.schedule.timezone ?? 'UTC'})` : ''}`;
      pass.requeue(left);
      return;
    }
  }
  if (!status.startedAt) {
    status.startedAt = kubeTime(pass.now);
    pass.add({ kind: 'notify', event: 'release_start', key: 'release_start' });
  }

  const paused = input.spec.paused || status.pausedByAction;
  for (let guard = 0; guard < 100; guard++) {
    const env = currentEnv(pass);
    if (!env) {
      finishRelease(pass, 'Succeeded', `all ${status.environments!.length} environment(s) succeeded`);
      delete status.currentEnvironment;
      return;
    }
    status.currentEnvironment = env.name;
    if (paused) {
      status.phase = 'Paused';
      status.message = input.spec.paused ? 'paused by spec.paused' : 'paused by a pause action';
      return;
    }
    const before = JSON.stringify(env);
    driveEnvironment(pass, env);
    if (ACTIVE_ENV.has(env.phase)) status.phase = env.phase;
    if (env.phase === 'Failed') {
      finishRelease(pass, 'Failed', env.waitingFor ?? `environment ${env.name} failed`);
      return;
    }
    if (env.phase !== 'Succeeded' && JSON.stringify(env) === before) return;
    if (env.phase !== 'Succeeded' && (env.stepState === 'RollingBack' || (env.targets ?? []).some((t) => t.phase === 'RollingBack'))) return;
  }
}

function previousSucceeded(pass: Pass, env: EnvironmentRun): boolean {
  const list = pass.status.environments!;
  const i = list.indexOf(env);
  return i === 0 || list[i - 1]!.phase === 'Succeeded';
}

function driveEnvironment(pass: Pass, env: EnvironmentRun) {
  const spec = envSpec(pass, env.name);
  if (env.phase === 'Pending') {
    env.phase = 'Waiting';
    env.startedAt ??= kubeTime(pass.now);
    pass.event('Normal', 'EnvironmentWaiting', `environment ${env.name} is waiting to start`);
  }
  if (env.phase === 'Waiting') {
    const released = env.step === -1 || (spec.promotion === 'auto' && previousSucceeded(pass, env));
    if (!released) {
      env.waitingFor = pass.status.environments!.indexOf(env) === 0 ? 'a start action (promotion: manual)' : 'a promote action (promotion: manual)';
      pass.status.message = `environment ${env.name} waits for ${env.waitingFor}`;
      return;
    }
    if (!windowAllows(pass, env)) return;
    delete env.waitingFor;
    if (spec.approval?.required) {
      env.phase = 'Approving';
      env.stepState = 'Approval';
      env.step = -1;
    } else {
      beginDeploying(pass, env);
    }
  }
  if (env.phase === 'Approving' && env.step === -1) {
    const key = environmentApprovalKey(env.name);
    const decision = pass.approvals.get(key) ?? 'pending';
    if (decision === 'pending') {
      requestApproval(pass, env, key);
      env.waitingFor = `approval by ${[...(spec.approval?.approvers ?? []), ...(spec.approval?.groups ?? []).map((g) => `group ${g}`)].join(', ') || 'an approver'}`;
      pass.status.message = `environment ${env.name} waits for ${env.waitingFor}`;
      return;
    }
    if (decision !== 'approved') {
      env.phase = 'Failed';
      env.waitingFor = `approval of environment ${env.name} was ${decision}`;
      env.finishedAt = kubeTime(pass.now);
      return;
    }
    delete env.waitingFor;
    beginDeploying(pass, env);
  }
  if (env.phase === 'Deploying' || env.phase === 'Verifying' || env.phase === 'Approving') runSteps(pass, env);
}

/**
 * Outside its release window an environment waits (status says until when); an emergency release of the
 * environment does not.
 */
function windowAllows(pass: Pass, env: EnvironmentRun): boolean {
  const window = envSpec(pass, env.name).window;
  if (!window || env.emergency) {
    delete env.waitingUntil;
    return true;
  }
  const verdict = windowVerdict(window, pass.now);
  if (verdict.open) {
    delete env.waitingUntil;
    return true;
  }
  env.waitingFor = `release window: ${verdict.reason}${verdict.opensAt ? `; opens at ${kubeTime(verdict.opensAt)}` : '; it never opens'}`;
  if (verdict.opensAt) {
    env.waitingUntil = kubeTime(verdict.opensAt);
    pass.requeue(verdict.opensAt.getTime() - pass.now.getTime());
  } else delete env.waitingUntil;
  pass.status.message = `environment ${env.name} waits for the ${env.waitingFor}`;
  return false;
}

/**
 * A target whose apps depend on apps of other targets (ReleaseApp dependsOn) starts once those are ready;
 * it says what it waits for, and fails when a required dependency fails or times out.
 */
function holdForDependencies(pass: Pass, env: EnvironmentRun, run: TargetRun) {
  const graph = pass.input.apps;
  const apps = graph?.targetApps.get(run.name);
  if (!graph || !apps?.length) return;
  const inEnv = new Set((envInput(pass, env.name)?.targets ?? []).map((t) => t.name));
  const hosting = new Map<string, string[]>();
  for (const [target, hosted] of graph.targetApps) {
    if (!inEnv.has(target)) continue;
    for (const app of hosted) hosting.set(app, [...(hosting.get(app) ?? []), target]);
  }
  const states = appStates(hosting, (target) => targetRun(env, target)?.phase);
  const gate = targetGate([...apps], graph.nodes, (app) => states.get(app) ?? 'absent', run.waitingSince ? new Date(run.waitingSince) : undefined, pass.now);
  if (gate.kind === 'go') {
    delete run.waitingFor;
    delete run.waitingSince;
    return;
  }
  if (gate.kind === 'fail') {
    run.phase = 'Failed';
    run.error = gate.reason;
    run.finishedAt = kubeTime(pass.now);
    delete run.waitingFor;
    pass.event('Warning', 'DependencyFailed', `${run.name} in ${env.name}: ${gate.reason}`);
    return;
  }
  run.waitingFor = gate.reason;
  run.waitingSince ??= kubeTime(pass.now);
  if (gate.requeueAfterMs !== undefined) pass.requeue(gate.requeueAfterMs);
}

function beginDeploying(pass: Pass, env: EnvironmentRun) {
  env.phase = 'Deploying';
  setStep(pass, env, 0, 'Delay');
  pass.event('Normal', 'EnvironmentDeploying', `environment ${env.name} is deploying`);
}

function runSteps(pass: Pass, env: EnvironmentRun) {
  const plan = planFor(pass, env);
  if (typeof plan === 'string') {
    env.phase = 'Failed';
    env.waitingFor = plan;
    env.finishedAt = kubeTime(pass.now);
    return;
  }
  for (let guard = 0; guard < 1000; guard++) {
    const index = env.step ?? 0;
    const step = plan.steps[index];
    if (!step) {
      env.phase = 'Succeeded';
      env.finishedAt = kubeTime(pass.now);
      delete env.stepState;
      delete env.waitingFor;
      pass.event('Normal', 'EnvironmentSucceeded', `environment ${env.name} succeeded`);
      return;
    }
    if (!runStep(pass, env, plan, step, index)) return;
  }
}

/** Drives one step; true when it is finished and the next one may start in the same pass. */
function runStep(pass: Pass, env: EnvironmentRun, plan: RolloutPlan, step: RolloutStep, index: number): boolean {
  const since = ms(env.stepSince) || pass.now.getTime();
  switch (env.stepState ?? 'Delay') {
    case 'Delay': {
      const left = since + step.delaySeconds * 1000 - pass.now.getTime();
      if (left > 0) {
        env.phase = 'Deploying';
        // Absolute times: a countdown would change the status on every pass and never let it settle.
        env.waitingFor = `batch interval: step ${index + 1} starts at ${kubeTime(new Date(since + step.delaySeconds * 1000))}`;
        pass.requeue(left);
        return false;
      }
      // A window that closes mid-environment holds the next batch back; a batch already running finishes.
      if (!windowAllows(pass, env)) {
        env.phase = 'Deploying';
        return false;
      }
      setStep(pass, env, index, step.approvalRequired ? 'Approval' : 'Run');
      return true;
    }
    case 'Approval': {
      const key = stepApprovalKey(env.name, index);
      const decision = pass.approvals.get(key) ?? 'pending';
      if (decision === 'pending') {
        env.phase = 'Approving';
        env.waitingFor = `approval of step ${index + 1} (${step.id}: ${step.targets.join(', ')})`;
        requestApproval(pass, env, key, index);
        pass.status.message = `environment ${env.name} waits for ${env.waitingFor}`;
        return false;
      }
      if (decision !== 'approved') {
        env.phase = 'Failed';
        env.waitingFor = `approval of step ${index + 1} of environment ${env.name} was ${decision}`;
        env.finishedAt = kubeTime(pass.now);
        return false;
      }
      setStep(pass, env, index, 'Run');
      return true;
    }
    case 'Run': {
      env.phase = 'Deploying';
      env.currentStep = `${step.id} (${index + 1}/${plan.steps.length})`;
      const runs = step.targets.map((name) => ensureTargetRun(env, name, index, step));
      for (const r of runs) if (r.phase === 'Pending') holdForDependencies(pass, env, r);
      const failed = runs.filter((r) => r.phase === 'Failed');
      const active = runs.filter((r) => r.phase === 'Pending' || r.phase === 'Running');
      for (const r of active) {
        if (r.waitingFor) continue;
        pass.add({
          kind: 'deploy', environment: env.name, target: r.name, attempt: r.attempt ?? 1, stepIndex: index, mode: r.mode ?? 'update',
          ...(step.canaryPercent !== undefined ? { canaryPercent: step.canaryPercent } : {}),
          ...(plan.keepOldVersion !== undefined ? { keepOldVersion: plan.keepOldVersion } : {}),
        });
      }
      if (failed.length > 0) {
        if (active.length > 0) return false; // let the rest of the batch finish before deciding
        if (rollbackWanted(pass, env, failed)) startAutoRollback(pass, env, failed);
        else {
          env.phase = 'Failed';
          env.waitingFor = `${failed.map((t) => `${t.name}: ${t.error}`).join('; ')}`;
          env.finishedAt = kubeTime(pass.now);
        }
        return false;
      }
      if (active.length > 0) {
        const held = active.filter((r) => r.waitingFor);
        pass.status.message = `environment ${env.name}: ${env.currentStep} deploying ${active.filter((r) => !r.waitingFor).map((r) => r.name).join(', ') || 'nothing yet'}` +
          (held.length ? `; ${held.map((r) => `${r.name} ${r.waitingFor}`).join('; ')}` : '');
        return false;
      }
      setStep(pass, env, index, step.verifySeconds > 0 ? 'Verify' : 'Promote');
      return true;
    }
    case 'Verify': {
      if (env.emergency) {
        // An emergency release skips canary verification; the status and the audit trail say so.
        for (const r of step.targets.map((name) => targetRun(env, name)).filter(Boolean)) if (r!.phase === 'Verifying') r!.phase = 'Succeeded';
        setStep(pass, env, index, 'Promote');
        return true;
      }
      env.phase = 'Verifying';
      const left = since + step.verifySeconds * 1000 - pass.now.getTime();
      const runs = step.targets.map((name) => targetRun(env, name)!).filter(Boolean);
      if (left > 0) {
        for (const r of runs) r.phase = r.phase === 'Succeeded' ? 'Verifying' : r.phase;
        env.waitingFor = `verify window until ${kubeTime(new Date(since + step.verifySeconds * 1000))} for ${step.targets.join(', ')}`;
        pass.status.message = `environment ${env.name}: ${env.waitingFor}`;
        pass.requeue(left);
        return false;
      }
      const results = runs.map((r) => ({ r, v: pass.input.work.get(workKey(env.name, r.name))?.verify }));
      const pending = results.filter(({ r, v }) => !v || v.attempt !== (r.attempt ?? 1) || (v.step !== undefined && v.step !== index) || v.state === 'running');
      for (const { r } of pending) pass.add({ kind: 'verify', environment: env.name, target: r.name, attempt: r.attempt ?? 1, stepIndex: index, mode: r.mode ?? 'update' });
      if (pending.length > 0) {
        env.waitingFor = `verifying ${pending.map(({ r }) => r.name).join(', ')}`;
        pass.status.message = `environment ${env.name}: ${env.waitingFor}`;
        return false;
      }
      const unhealthy = results.filter(({ v }) => v!.state === 'failed');
      for (const { r } of results) if (r.phase === 'Verifying') r.phase = 'Succeeded';
      if (unhealthy.length > 0) {
        for (const { r, v } of unhealthy) {
          r.phase = 'Failed';
          r.error = `verification failed: ${v!.error ?? 'unhealthy'}`;
        }
        const failed = unhealthy.map(({ r }) => r);
        if (plan.autoRollback || rollbackWanted(pass, env, failed)) startAutoRollback(pass, env, failed);
        else {
          env.phase = 'Failed';
          env.waitingFor = failed.map((t) => `${t.name}: ${t.error}`).join('; ');
          env.finishedAt = kubeTime(pass.now);
        }
        return false;
      }
      setStep(pass, env, index, 'Promote');
      return true;
    }
    case 'Promote': {
      if (step.promoteGate && !env.emergency) {
        env.phase = 'Verifying';
        env.waitingFor = `a promote action to continue after ${step.id}`;
        pass.status.message = `environment ${env.name} waits for ${env.waitingFor}`;
        return false;
      }
      setStep(pass, env, index + 1, 'Delay');
      return true;
    }
    case 'RollingBack':
      return false;
  }
}

// ------------------------------------------------------------------------------------------- summary

function summarise(pass: Pass) {
  const { status } = pass;
  const runs = (status.environments ?? []).flatMap((e) => e.targets ?? []);
  const planned = (status.environments ?? []).reduce((n, e) => {
    const inp = envInput(pass, e.name);
    return n + Math.max(inp?.targets.length ?? 0, e.targets?.length ?? 0);
  }, 0);
  const done = runs.filter((t) => DONE_TARGET.has(t.phase)).length;
  status.progress = `${done}/${planned}`;
}
