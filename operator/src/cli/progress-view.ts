/**
 * The progress view of one Release, pure: its JSON (as kubectl or client-node return it) in, lines of text
 * out — a header with the release, its phase, current environment and progress, then one block per
 * environment with one row per target. No I/O and no clock, so `make demo` can redraw it in place and
 * `kubectl shipway status` can print it once, and tests compare plain strings.
 *
 * Colours are plain ANSI SGR codes rather than a package: the view needs five of them, and the caller
 * decides whether they are on (only for a terminal).
 */
import type { EnvironmentRun, ReleaseStatus, TargetRun } from '../api/release.ts';

/** The parts of a Release the view reads; a Release the operator has not touched yet has no status. */
export interface ReleaseView {
  metadata?: { name?: string; namespace?: string };
  spec?: { version?: string; environments?: { name: string }[] };
  status?: ReleaseStatus;
}

export interface ProgressViewOptions {
  /** ANSI colours; off unless the caller writes to a terminal. */
  color?: boolean;
  /** Cut every line to this many columns: a view redrawn in place must never wrap. */
  width?: number;
}

type Colour = 'green' | 'red' | 'yellow' | 'cyan' | 'dim' | 'bold';
const SGR: Record<Colour, [string, string]> = {
  green: ['\x1b[32m', '\x1b[39m'],
  red: ['\x1b[31m', '\x1b[39m'],
  yellow: ['\x1b[33m', '\x1b[39m'],
  cyan: ['\x1b[36m', '\x1b[39m'],
  dim: ['\x1b[2m', '\x1b[22m'],
  bold: ['\x1b[1m', '\x1b[22m'],
};

/** Release, environment and target phases share one look, so a glance down the left column tells the state. */
const LOOK: Record<string, { mark: string; colour?: Colour }> = {
  Pending: { mark: '·', colour: 'dim' },
  Scheduled: { mark: '◷', colour: 'dim' },
  Waiting: { mark: '…', colour: 'yellow' },
  Approving: { mark: '?', colour: 'yellow' },
  Paused: { mark: '‖', colour: 'yellow' },
  Deploying: { mark: '▶', colour: 'cyan' },
  Running: { mark: '▶', colour: 'cyan' },
  Verifying: { mark: '◐', colour: 'cyan' },
  Succeeded: { mark: '✔', colour: 'green' },
  Skipped: { mark: '↷', colour: 'dim' },
  Failed: { mark: '✖', colour: 'red' },
  Cancelled: { mark: '⊘', colour: 'dim' },
  RollingBack: { mark: '↺', colour: 'yellow' },
  RolledBack: { mark: '↺', colour: 'red' },
};
const look = (phase: string) => LOOK[phase] ?? { mark: ' ' };

const TERMINAL = new Set(['Succeeded', 'Failed', 'Cancelled', 'RolledBack']);
const FINISHED_STAGE = new Set(['succeeded', 'failed', 'skipped', 'cancelled', 'timed_out']);
const BAR_WIDTH = 10;

/** A line as coloured segments; cut to width on the plain text, so codes never count as columns. */
type Segment = [text: string, colour?: Colour];

function finish(segments: Segment[], o: ProgressViewOptions): string {
  let room = o.width ?? Infinity;
  let out = '';
  for (const [text, colour] of segments) {
    if (room <= 0) break;
    const chars = [...text];
    let piece = text;
    if (chars.length > room) piece = `${chars.slice(0, Math.max(0, room - 1)).join('')}…`;
    room -= [...piece].length;
    out += o.color && colour ? `${SGR[colour][0]}${piece}${SGR[colour][1]}` : piece;
  }
  return out.trimEnd();
}

const pad = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - [...text].length));

export function progressBar(fraction: number, width = BAR_WIDTH): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

/** "3/4" → 0.75; anything else → undefined. */
export function parseProgress(progress: string | undefined): { done: number; total: number } | undefined {
  const m = /^(\d+)\/(\d+)$/.exec(progress ?? '');
  if (!m) return undefined;
  return { done: Number(m[1]), total: Number(m[2]) };
}

/**
 * How far one target is, for its bar. The status lists only the stages a target has reached, so a running
 * target moves from 10% to 80% as they finish; the verify window and success fill the rest. A target
 * rolled back shows empty: it is where it was before the release.
 */
export function targetFraction(run: Pick<TargetRun, 'phase' | 'stages'>): number {
  switch (run.phase) {
    case 'Succeeded':
    case 'Skipped':
      return 1;
    case 'Verifying':
      return 0.9;
    case 'Pending':
    case 'Cancelled':
    case 'RolledBack':
      return 0;
    default: {
      const stages = run.stages ?? [];
      const finished = stages.filter((s) => FINISHED_STAGE.has(s.status)).length;
      return 0.1 + (0.7 * finished) / Math.max(1, stages.length);
    }
  }
}

function versions(run: TargetRun, releaseVersion: string | undefined): string {
  const to = run.version ?? releaseVersion ?? '?';
  if (run.previousVersion === undefined) return `→ ${to}`;
  if (run.previousVersion === to) return to;
  return `${run.previousVersion} → ${to}`;
}

function environmentNote(env: EnvironmentRun): string {
  const parts: string[] = [];
  if (env.currentStep && !TERMINAL.has(env.phase)) parts.push(`step ${env.currentStep}`);
  // waitingFor names a thing ("a promote action", "approval by alice") or, once a window has passed, an
  // activity ("verifying web-prod"), which reads wrong after "waiting for".
  if (env.waitingFor) parts.push(TERMINAL.has(env.phase) || /^\w+ing\b/.test(env.waitingFor) ? env.waitingFor : `waiting for ${env.waitingFor}`);
  return parts.join(' · ');
}

/** The whole view, one string per line, no trailing newline. */
export function renderProgressView(release: ReleaseView, options: ProgressViewOptions = {}): string[] {
  const status = release.status ?? {};
  const name = [release.metadata?.namespace, release.metadata?.name].filter(Boolean).join('/') || '(unnamed)';
  const phase = status.phase ?? 'Pending';
  const version = status.version ?? release.spec?.version;
  const environments: EnvironmentRun[] = status.environments ?? (release.spec?.environments ?? []).map((e) => ({ name: e.name, phase: 'Pending' }));
  const lines: string[] = [];

  const header: Segment[] = [['Release ', 'bold'], [name, 'bold']];
  if (version) header.push([`  ${version}`]);
  header.push(['  '], [`${look(phase).mark} ${phase}`, look(phase).colour]);
  if (status.currentEnvironment && !TERMINAL.has(phase)) header.push([`  in ${status.currentEnvironment}`]);
  const progress = parseProgress(status.progress);
  if (progress) header.push([`  ${progress.done}/${progress.total} targets `], [progressBar(progress.total === 0 ? 0 : progress.done / progress.total), phase === 'Failed' || phase === 'RolledBack' ? 'red' : 'green']);
  lines.push(finish(header, options));

  // The release message mostly repeats what an environment waits for; it is shown when it says more.
  const message = status.message ?? (release.status ? undefined : 'not picked up by the operator yet');
  if (message && !environments.some((e) => e.waitingFor && message.includes(e.waitingFor))) {
    lines.push(finish([['  '], [message, TERMINAL.has(phase) && phase !== 'Succeeded' ? 'red' : 'dim']], options));
  }

  const runs = environments.flatMap((e) => e.targets ?? []);
  const nameWidth = Math.max(0, ...runs.map((t) => [...t.name].length));
  const phaseWidth = Math.max(0, ...runs.map((t) => t.phase.length));
  const versionWidth = Math.max(0, ...runs.map((t) => [...versions(t, version)].length));
  const envWidth = Math.max(0, ...environments.map((e) => [...e.name].length));

  for (const env of environments) {
    lines.push('');
    const l = look(env.phase);
    const envLine: Segment[] = [['  '], [`${l.mark} `, l.colour], [pad(env.name, envWidth), 'bold'], ['  '], [env.phase, l.colour]];
    const note = environmentNote(env);
    if (note) envLine.push(['  '], [note, env.phase === 'Failed' ? 'red' : env.waitingFor ? 'yellow' : 'dim']);
    lines.push(finish(envLine, options));
    const targets = env.targets ?? [];
    if (targets.length === 0) {
      lines.push(finish([['      '], [TERMINAL.has(env.phase) ? 'no target ran' : 'no target started yet', 'dim']], options));
      continue;
    }
    for (const run of targets) {
      const t = look(run.phase);
      const row: Segment[] = [
        ['      '],
        [`${t.mark} `, t.colour],
        [pad(run.name, nameWidth)],
        ['  '],
        [pad(run.phase, phaseWidth), t.colour],
        ['  '],
        [pad(versions(run, version), versionWidth)],
        ['  '],
        [progressBar(targetFraction(run)), run.phase === 'Failed' || run.phase === 'RolledBack' ? 'red' : run.phase === 'Succeeded' ? 'green' : 'cyan'],
      ];
      if (run.currentStep) row.push(['  '], [run.currentStep, 'dim']);
      lines.push(finish(row, options));
      if (run.error) lines.push(finish([['          '], [run.error, 'red']], options));
    }
  }
  return lines;
}
