/**
 * Script deployments on a host: `install` when the app is not there yet, `update` when it is (the operator
 * decides and says so in `operation`), `rollback` and `uninstall`, each its own script from the ReleaseApp.
 *
 * Also the host-process machinery the git-pull and pipeline-task executors share. A script is written to a
 * file and handed to the interpreter, never to `-c`, and every variable reaches it as an environment
 * variable: text the operator sends is never parsed by a shell before the script's author meant it to be.
 * Each run is the leader of its own process group, so a timeout or a cancel reaches everything it started —
 * `sleep 300 &`, subshells, pipelines — not only the interpreter.
 */
import { spawn } from 'node:child_process';
import { chown, mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { TSchema, TUnsafe } from '@sinclair/typebox';
import { toPlainSchema } from '../../../operator/src/api/crd.ts';
import { ReleaseAppSpec } from '../../../operator/src/api/release-app.ts';
import { Obj, Type, type Static } from '../../../operator/src/api/schema-helpers.ts';
import { TargetSpec } from '../../../operator/src/api/target.ts';
import { expandVariables, variableReferences } from '../../../operator/src/planning/variable-text.ts';
import type { AgentExecutor, AgentOperation, AgentTaskContext, AgentTaskResult } from './agent-executor.ts';
import { LineSplitter, OutputBuffer, type OutputLimits } from './output-buffer.ts';

export type ScriptSettings = NonNullable<ReleaseAppSpec['script']>;
export type HostDefaults = NonNullable<TargetSpec['script']>;
export type OperationTimeouts = NonNullable<ScriptSettings['timeouts']>;

/**
 * An API block as a schema of its own: the block is declared optional where the API uses it, and that mark
 * must not follow it into a config where it is required.
 */
export function apiBlock<T>(schema: TSchema): TUnsafe<T> {
  return Type.Unsafe<T>(toPlainSchema(schema, { closed: true }) as Record<string, unknown>);
}

/** The ReleaseApp's `script` block, exactly as the API defines it (defaults, limits and rules). */
export const ScriptSettingsSchema = apiBlock<ScriptSettings>(ReleaseAppSpec.properties.script);
/** The Target's host block (`script` and `gitpull` share it): base work dir, user, backup dir. */
export const HostDefaultsSchema = apiBlock<HostDefaults>(TargetSpec.properties.script);
export const OperationTimeoutsSchema = apiBlock<OperationTimeouts>(ReleaseAppSpec.properties.script.properties.timeouts);

export type PackageArtifact = NonNullable<ReleaseAppSpec['artifact']['package']>;

export const ScriptExecutorConfig = Obj({
  settings: ScriptSettingsSchema,
  /** `artifact.package` of the ReleaseApp: reaches the scripts as ARTIFACT_URL and ARTIFACT_SHA256. */
  package: Type.Optional(apiBlock<PackageArtifact>(ReleaseAppSpec.properties.artifact.properties.package)),
  host: Type.Optional(HostDefaultsSchema),
});
export type ScriptExecutorConfig = Static<typeof ScriptExecutorConfig>;

/** Seconds per operation when the settings name none (SPEC "Agent targets"). */
export const DEFAULT_OPERATION_TIMEOUTS: Readonly<Record<AgentOperation, number>> = { install: 600, update: 300, rollback: 180, uninstall: 120 };

export interface HostExecutorOptions {
  /** Between SIGTERM to a process group and SIGKILL (default 5 s). */
  killGraceMs?: number;
  /**
   * After a script exits, how long processes it left running may keep its output open before the output
   * is let go (default 500 ms): a script that starts a daemon without redirecting it must not hang the task.
   */
  drainMs?: number;
  /** Bounds of the output tail kept for the result. */
  output?: Partial<OutputLimits>;
}

const DEFAULT_KILL_GRACE_MS = 5000;
const DEFAULT_DRAIN_MS = 500;
const STDERR_TAIL: OutputLimits = { maxLines: 20, maxBytes: 4096 };
const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function createScriptExecutor(options: HostExecutorOptions = {}): AgentExecutor<ScriptExecutorConfig> {
  return {
    type: 'script',
    configSchema: ScriptExecutorConfig,
    run: (config, context) => runScriptOperation(config, context, options),
  };
}

async function runScriptOperation(config: ScriptExecutorConfig, context: AgentTaskContext, options: HostExecutorOptions): Promise<AgentTaskResult> {
  const { operation } = context;
  const settings = config.settings;
  const chosen = chooseScript(settings, operation);
  if (!chosen) {
    return operationResult(context, false, {
      error: `no ${operation} script: app ${context.app} has no script.${operation} in its settings, so it cannot ${OPERATION_VERBS[operation]} on this host`,
    });
  }
  const { script, stand } = chosen;
  const output = new OutputBuffer(options.output);
  try {
    if (stand) context.log(`app ${context.app} has no ${operation} script: its ${stand} script runs instead`);
    const runAs = await resolveRunAs(config.host?.user);
    const paths = resolveHostPaths(context, settings.workDir, config.host);
    await ensureDirectory(paths.workDir, runAs);
    const facts = { ...taskFacts(context), ...artifactFacts(config.package, context) };
    const variables = { ...facts, ...context.env, ...paths.env };
    const environment = hostEnvironment([expandEach(settings.environment, variables), facts, context.env, paths.env], context.log, runAs);
    const timeoutSeconds = settings.timeouts?.[operation] ?? DEFAULT_OPERATION_TIMEOUTS[operation];
    context.progress(0, `running the ${operation} script`);
    const outcome = await runHostProcess(
      {
        name: `${operation} script`,
        interpreter: settings.interpreter ?? '/bin/bash',
        text: script,
        cwd: paths.workDir,
        env: environment,
        timeoutMs: timeoutSeconds * 1000,
        signal: context.signal,
        log: context.log,
        stateDir: context.stateDir,
        taskId: context.taskId,
        output,
        ...(runAs ? { runAs } : {}),
      },
      options,
    );
    if (outcome.ok) context.progress(100, `${operation} script finished`);
    return operationResult(context, outcome.ok, { outputTail: output.tail(), ...(outcome.error ? { error: outcome.error } : {}) });
  } catch (error) {
    return operationResult(context, false, { error: errorText(error), outputTail: output.tail() });
  }
}

/**
 * The script for the operation. The API asks only for an install or an update script, so each stands in
 * for the other (scripts written to be idempotent do both); rollback and uninstall have no stand-in.
 */
function chooseScript(settings: ScriptSettings, operation: AgentOperation): { script: string; stand?: 'install' | 'update' } | undefined {
  const own = settings[operation];
  if (own) return { script: own };
  const stand = operation === 'install' ? 'update' : operation === 'update' ? 'install' : undefined;
  const other = stand ? settings[stand] : undefined;
  return stand && other ? { script: other, stand } : undefined;
}

/** The package URL with `${APP_VERSION}` (and other variables) in it resolved, as the API describes it. */
function artifactFacts(artifact: PackageArtifact | undefined, context: AgentTaskContext): Record<string, string> {
  if (!artifact) return {};
  return {
    ARTIFACT_URL: expandVariables(artifact.url, { ...taskFacts(context), ...context.env }),
    ...(artifact.sha256 ? { ARTIFACT_SHA256: artifact.sha256 } : {}),
  };
}

const OPERATION_VERBS: Record<AgentOperation, string> = {
  install: 'be installed',
  update: 'be updated',
  rollback: 'be rolled back',
  uninstall: 'be uninstalled',
};

// ---------------------------------------------------------------------------------------------------------
// Results

export interface OperationResultDetails {
  error?: string;
  outputTail?: string;
  /** The version installed afterwards when it is not `context.version` (git pull resolves its own). */
  version?: string;
  previousVersion?: string;
}

/**
 * What a deploy operation leaves on the host. A failed install counts as not installed (the next deploy
 * installs again); any other failed operation leaves the app installed at the version it had, as far as the
 * agent knows.
 */
export function operationResult(context: AgentTaskContext, succeeded: boolean, details: OperationResultDetails = {}): AgentTaskResult {
  const previousVersion = details.previousVersion ?? context.currentVersion;
  const common = {
    ...(previousVersion !== undefined ? { previousVersion } : {}),
    ...(details.error !== undefined ? { error: details.error } : {}),
    ...(details.outputTail !== undefined && details.outputTail !== '' ? { outputTail: details.outputTail } : {}),
  };
  if (succeeded) {
    if (context.operation === 'uninstall') return { status: 'succeeded', installed: false, ...common };
    return { status: 'succeeded', installed: true, version: details.version ?? context.version, ...common };
  }
  if (context.operation === 'install') return { status: 'failed', installed: false, ...common };
  return { status: 'failed', installed: true, ...(context.currentVersion !== undefined ? { version: context.currentVersion } : {}), ...common };
}

/**
 * The result of work that does not change what is installed (pipeline tasks, a refused config): the app is
 * reported as the caller described it.
 */
export function unchangedResult(context: AgentTaskContext, succeeded: boolean, details: { error?: string; outputTail?: string } = {}): AgentTaskResult {
  const installed = context.currentVersion !== undefined || context.operation !== 'install';
  return {
    status: succeeded ? 'succeeded' : 'failed',
    installed,
    ...(context.currentVersion !== undefined ? { version: context.currentVersion } : {}),
    ...(details.error !== undefined ? { error: details.error } : {}),
    ...(details.outputTail !== undefined && details.outputTail !== '' ? { outputTail: details.outputTail } : {}),
  };
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------------------------------------
// Environment and paths

/** The built-in variables this task knows itself; the operator's own values, when sent, win. */
export function taskFacts(context: AgentTaskContext): Record<string, string> {
  return {
    APP_NAME: context.app,
    APP_VERSION: context.version,
    CURRENT_VERSION: context.currentVersion ?? '',
    ROLLBACK_VERSION: context.operation === 'rollback' ? context.version : '',
  };
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The environment of host work: only PATH and HOME from the agent (its own variables — its credential
 * file, proxies — are none of the script's business), then each layer over the previous. Names a shell
 * could not read are made readable (`my-var` → `my_var`) as on Kubernetes targets; a value holding a NUL
 * byte cannot be passed at all and is left out, saying so.
 */
export function hostEnvironment(
  layers: readonly (Readonly<Record<string, string>> | undefined)[],
  log: (line: string) => void,
  runAs?: RunAs,
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? FALLBACK_PATH,
    HOME: runAs?.home ?? process.env.HOME ?? '/',
  };
  if (runAs) {
    env.USER = runAs.user;
    env.LOGNAME = runAs.user;
  }
  for (const layer of layers) {
    for (const [name, value] of Object.entries(layer ?? {})) {
      const safe = VARIABLE_NAME.test(name) ? name : safeVariableName(name);
      if (value.includes('\0')) {
        log(`variable ${name} is not passed: its value holds a NUL byte, which no environment can carry`);
        continue;
      }
      env[safe] = value;
    }
  }
  return env;
}

function safeVariableName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned;
}

/** `${NAME}` in each value, from the variables; used for settings written as templates, never for script text. */
export function expandEach(values: Readonly<Record<string, string>> | undefined, variables: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values ?? {})) out[name] = expandVariables(value, variables);
  return out;
}

export interface HostPaths {
  workDir: string;
  backupDir: string;
  /** WORK_DIR and BACKUP_DIR as the work sees them: the directories actually used. */
  env: Record<string, string>;
}

/**
 * Work dir: the app's setting (`${APP_NAME}` and other variables expanded; relative to the target's base),
 * else WORK_DIR from the operator, else `<target workDir>/<app>`, else `<stateDir>/apps/<app>`. Backups:
 * BACKUP_DIR from the operator, else the target's backupDir, else `<stateDir>/backups`.
 */
export function resolveHostPaths(context: AgentTaskContext, configured: string | undefined, host: HostDefaults | undefined): HostPaths {
  const base = host?.workDir ?? join(context.stateDir, 'apps');
  let workDir: string;
  if (configured !== undefined) {
    const variables = { ...taskFacts(context), ...context.env };
    const unknown = variableReferences(configured).filter((name) => !Object.hasOwn(variables, name));
    if (unknown.length > 0) throw new Error(`work dir ${configured} refers to ${unknown.map((n) => `\${${n}}`).join(', ')}, which ${unknown.length === 1 ? 'is' : 'are'} not set`);
    workDir = resolve(base, expandVariables(configured, variables));
  } else if (context.env.WORK_DIR) {
    workDir = resolve(base, context.env.WORK_DIR);
  } else {
    workDir = join(base, context.app);
  }
  if (workDir === '/') throw new Error('work dir / is refused: scripts remove and replace what is in their work dir');
  const backupDir = resolve(context.env.BACKUP_DIR || host?.backupDir || join(context.stateDir, 'backups'));
  return { workDir, backupDir, env: { WORK_DIR: workDir, BACKUP_DIR: backupDir } };
}

// ---------------------------------------------------------------------------------------------------------
// Running as another user

export interface RunAs {
  user: string;
  uid: number;
  gid: number;
  home: string;
}

/** The target's `user`, looked up in /etc/passwd; nothing when it is the agent's own user. */
export async function resolveRunAs(user: string | undefined): Promise<RunAs | undefined> {
  if (user === undefined || user === '') return undefined;
  const self = userInfo();
  if (user === self.username || user === String(self.uid)) return undefined;
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  let found: RunAs | undefined;
  for (const line of passwd.split('\n')) {
    const [name, , uid, gid, , home] = line.split(':');
    if (name === undefined || uid === undefined || gid === undefined) continue;
    if (name === user || uid === user) {
      found = { user: name, uid: Number(uid), gid: Number(gid), home: home || '/' };
      break;
    }
  }
  if (!found) throw new Error(`user ${user} does not exist on this host`);
  if (process.getuid?.() !== 0) throw new Error(`running as user ${user} needs the agent to run as root; it runs as ${self.username}`);
  return found;
}

/** `mkdir -p`, handing the directories it creates to the user the work runs as. */
export async function ensureDirectory(path: string, runAs?: RunAs): Promise<void> {
  const missing: string[] = [];
  for (let dir = path; ; dir = dirname(dir)) {
    const info = await stat(dir).catch(() => undefined);
    if (info) {
      if (!info.isDirectory()) throw new Error(`${dir} exists and is not a directory`);
      break;
    }
    missing.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  if (missing.length === 0) return;
  await mkdir(path, { recursive: true });
  if (runAs) for (const dir of missing) await chown(dir, runAs.uid, runAs.gid);
}

// ---------------------------------------------------------------------------------------------------------
// Host processes

export interface HostProcessSpec {
  /** What runs, for messages: "install script", "build command". */
  name: string;
  /** The interpreter and its arguments, split on spaces (`/bin/bash -e`, `/usr/bin/env python3`). */
  interpreter: string;
  /** Written to a file the interpreter reads. */
  text: string;
  cwd: string;
  env: Readonly<Record<string, string>>;
  timeoutMs: number;
  signal: AbortSignal;
  log(line: string): void;
  stateDir: string;
  /** The task it belongs to, recorded so a restarted agent can say which work it stopped. */
  taskId?: string;
  /** The tail of everything printed, shared by the steps of one task. */
  output: OutputBuffer;
  runAs?: RunAs;
}

export interface HostProcessOutcome {
  ok: boolean;
  exitCode: number | null;
  /** The signal that ended the process when none of ours did. */
  exitSignal: NodeJS.Signals | null;
  timedOut: boolean;
  cancelled: boolean;
  /** Why it failed, with the tail of stderr. */
  error?: string;
}

/**
 * Runs a script as the leader of a new process group. Output goes line by line to `log` and the tail to
 * `output`. On timeout or abort the group gets SIGTERM, then SIGKILL after the grace period, and this
 * resolves only once no process of the group is left. Processes a script leaves behind after exiting
 * normally (a daemon it started) are left alone.
 */
export async function runHostProcess(spec: HostProcessSpec, options: HostExecutorOptions = {}): Promise<HostProcessOutcome> {
  const notRun = (error: string, cancelled = false): HostProcessOutcome => ({ ok: false, exitCode: null, exitSignal: null, timedOut: false, cancelled, error });
  if (spec.signal.aborted) return notRun(`${spec.name} was not started: ${abortReason(spec.signal)}`, true);
  const argv = spec.interpreter.trim().split(/\s+/).filter((part) => part !== '');
  const program = argv.shift();
  if (program === undefined) return notRun(`${spec.name} has no interpreter`);

  const scratch = join(spec.stateDir, 'scripts');
  await mkdir(scratch, { recursive: true, mode: 0o700 });
  const runDir = await mkdtemp(join(scratch, 'run-'));
  const file = join(runDir, 'script');
  await writeFile(file, spec.text, { mode: 0o600 });
  // Another user cannot walk into the agent's state dir; it gets the script as an open descriptor instead.
  const handle = spec.runAs ? await open(file, 'r') : undefined;
  try {
    if (spec.runAs) await chown(file, spec.runAs.uid, spec.runAs.gid);
    const record = (pgid: number) => {
      const run: RunRecord = { pgid, name: spec.name, startedAt: new Date().toISOString(), ...(spec.taskId ? { taskId: spec.taskId } : {}) };
      writeFileSync(join(runDir, RUN_RECORD), JSON.stringify(run));
    };
    return await supervise(spec, options, program, [...argv, handle ? `/dev/fd/3` : file], handle?.fd, record);
  } finally {
    await handle?.close();
    await rm(runDir, { recursive: true, force: true });
  }
}

function supervise(
  spec: HostProcessSpec,
  options: HostExecutorOptions,
  program: string,
  args: string[],
  scriptFd: number | undefined,
  onSpawn: (pgid: number) => void,
): Promise<HostProcessOutcome> {
  const graceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const drainMs = options.drainMs ?? DEFAULT_DRAIN_MS;
  const stderrTail = new OutputBuffer(STDERR_TAIL);
  let output = true;
  const emit = (line: string, stderr: boolean) => {
    if (!output) return;
    spec.log(line);
    spec.output.push(line);
    if (stderr) stderrTail.push(line);
  };
  const outSplitter = new LineSplitter((line) => emit(line, false));
  const errSplitter = new LineSplitter((line) => emit(line, true));

  return new Promise((resolvePromise) => {
    const child = spawn(program, args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', scriptFd ?? 'ignore'],
      ...(spec.runAs ? { uid: spec.runAs.uid, gid: spec.runAs.gid } : {}),
    });
    if (child.pid !== undefined) onSpawn(child.pid);
    let stopping: { why: 'timeout' | 'cancel'; done: Promise<void> } | undefined;
    let exited = false;
    let finished = false;

    const stop = (why: 'timeout' | 'cancel') => {
      // Once the script has exited, what it left running is a daemon it meant to start, not ours to stop.
      if (stopping || exited || child.pid === undefined) return;
      // A group that cannot be signalled (EPERM) is reported by the exit that never comes within the grace.
      stopping = { why, done: killGroup(child.pid, graceMs).catch(() => undefined) };
    };
    const timer = setTimeout(() => stop('timeout'), spec.timeoutMs);
    const onAbort = () => stop('cancel');
    spec.signal.addEventListener('abort', onAbort, { once: true });

    const streams = [child.stdout!, child.stderr!];
    const streamsClosed = Promise.all(streams.map((stream) => new Promise<void>((done) => stream.once('close', () => done()))));
    streams[0]!.on('data', (chunk: Buffer) => outSplitter.write(chunk));
    streams[1]!.on('data', (chunk: Buffer) => errSplitter.write(chunk));

    const finish = async (exitCode: number | null, exitSignal: NodeJS.Signals | null, spawnError?: Error) => {
      if (finished) return;
      finished = true;
      exited = true;
      clearTimeout(timer);
      if (!spawnError) {
        if (stopping) await stopping.done;
        const drained = await Promise.race([streamsClosed.then(() => true), delay(stopping ? graceMs : drainMs).then(() => false)]);
        if (!drained) {
          // Whatever still holds the pipes (a daemon started without redirecting its output) keeps running;
          // its output is read and discarded so it never blocks on a full pipe or dies of SIGPIPE.
          emit(`[processes started by the ${spec.name} still hold its output; what they print from now on is discarded]`, false);
          for (const stream of streams) {
            stream.removeAllListeners('data');
            stream.resume();
            (stream as unknown as { unref?: () => void }).unref?.();
          }
        }
      }
      spec.signal.removeEventListener('abort', onAbort);
      outSplitter.end();
      errSplitter.end();
      output = false;
      const timedOut = stopping?.why === 'timeout';
      const cancelled = stopping?.why === 'cancel';
      const ok = !spawnError && !stopping && exitCode === 0;
      let error: string | undefined;
      if (spawnError) error = `${spec.name} could not start ${program}: ${spawnError.message}`;
      else if (timedOut) error = `${spec.name} timed out after ${formatSeconds(spec.timeoutMs)}; its process group was killed`;
      else if (cancelled) error = `${spec.name} was cancelled (${abortReason(spec.signal)}); its process group was killed`;
      else if (exitCode !== 0) error = exitCode === null ? `${spec.name} was killed by ${exitSignal ?? 'a signal'}` : `${spec.name} exited with code ${exitCode}`;
      if (error && !spawnError && stderrTail.total > 0) error += `; stderr:\n${stderrTail.tail()}`;
      resolvePromise({ ok, exitCode, exitSignal, timedOut, cancelled, ...(error ? { error } : {}) });
    };

    child.once('error', (error) => void finish(null, null, error));
    child.once('exit', (code, signal) => void finish(code, signal));
  });
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason.name === 'AbortError' ? 'aborted' : reason.message;
  return reason === undefined ? 'aborted' : String(reason);
}

/** SIGTERM to the group; SIGKILL to whatever is left after the grace period; resolves when none is left. */
async function killGroup(pgid: number, graceMs: number): Promise<void> {
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && (await groupAlive(pgid))) await delay(25);
  signalGroup(pgid, 'SIGKILL');
  const gone = Date.now() + 2000;
  while (Date.now() < gone && (await groupAlive(pgid))) await delay(25);
}

const RUN_RECORD = 'run.json';

interface RunRecord {
  pgid: number;
  name: string;
  startedAt: string;
  taskId?: string;
}

export interface InterruptedRun extends RunRecord {
  /** Whether processes of it were still running, and were killed. */
  killed: boolean;
}

/**
 * Work left by an agent that died mid-task: its process groups outlive it (they are detached, so that a
 * cancel reaches all of them). At start-up the agent stops them — the task's result is lost with the agent
 * and running the work twice at once would be worse — and clears the scratch files. Only a group whose
 * leader started a session of its own, as every run does, is killed: a recycled pid is not.
 */
export async function stopInterruptedRuns(stateDir: string, options: HostExecutorOptions = {}): Promise<InterruptedRun[]> {
  const scratch = join(stateDir, 'scripts');
  const entries = await readdir(scratch, { withFileTypes: true }).catch(() => []);
  const stopped: InterruptedRun[] = [];
  for (const entry of entries) {
    const path = join(scratch, entry.name);
    if (entry.isDirectory() && entry.name.startsWith('run-')) {
      const record = await readFile(join(path, RUN_RECORD), 'utf8').then((text) => JSON.parse(text) as RunRecord).catch(() => undefined);
      if (record && Number.isInteger(record.pgid) && record.pgid > 1) {
        const alive = await groupAlive(record.pgid, { ownSession: true });
        if (alive) await killGroup(record.pgid, options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
        stopped.push({ ...record, killed: alive });
      }
    }
    await rm(path, { recursive: true, force: true });
  }
  return stopped;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/**
 * Whether a live process is left in the group. `kill(-pgid, 0)` also answers for zombies — and orphans of a
 * killed script are reaped by whatever runs as PID 1, which in a container may never do it — so on Linux the
 * members are read from /proc.
 */
async function groupAlive(pgid: number, options: { ownSession?: boolean } = {}): Promise<boolean> {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return !options.ownSession;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const text = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    // After the command name, which may itself hold spaces and parentheses: state, ppid, pgrp, session.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== pgid || fields[0] === 'Z' || fields[0] === 'X') continue;
    if (!options.ownSession || Number(fields[3]) === pgid) return true;
  }
  return false;
}
