/**
 * The pipeline task types that act on a host: health_check (http, tcp, script), backup, stop_service,
 * start_service, cleanup and script. Their configs are the Pipeline's task blocks plus what only a host
 * needs (the commands that stop and start the service, a pid file, where versions live), so the operator
 * sends the block it validated and the target's host defaults.
 *
 * They register as `task:<type>`: a pipeline `script` task and a `script` deployment are different work
 * with different configs, and one registry holds both.
 */
import { httpProbe, tcpProbe, type Probe } from '../../../operator/src/tasks/health-probes.ts';
import { lstat, mkdir, readdir, readFile, readlink, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { HealthCheckSpec } from '../../../operator/src/api/common.ts';
import { Task } from '../../../operator/src/api/pipeline.ts';
import { Obj, Type, type Static } from '../../../operator/src/api/schema-helpers.ts';
import { expandVariables } from '../../../operator/src/planning/variable-text.ts';
import type { AgentExecutor, AgentTaskContext, AgentTaskResult } from './agent-executor.ts';
import { executorType } from './executor-registry.ts';
import { OutputBuffer } from './output-buffer.ts';
import {
  ensureDirectory,
  errorText,
  HostDefaultsSchema,
  hostEnvironment,
  resolveHostPaths,
  resolveRunAs,
  runHostProcess,
  taskFacts,
  unchangedResult,
  type HostDefaults,
  type HostExecutorOptions,
  type HostPaths,
  type RunAs,
} from './script-executor.ts';

export const HOST_TASK_TYPES = ['health_check', 'backup', 'stop_service', 'start_service', 'cleanup', 'script', 'db_migrate'] as const;
export type HostTaskType = (typeof HOST_TASK_TYPES)[number];

/** The registry type of a pipeline task that runs on a host. */
export function hostTaskExecutorType(type: HostTaskType): string {
  return executorType('task', type);
}

const Interpreter = Type.String({ minLength: 1, maxLength: 256, default: '/bin/bash' });
const Command = Type.String({ minLength: 1, maxLength: 65536, description: 'Shell text run by the interpreter; variables arrive as environment variables.' });
const PathSetting = Type.String({ minLength: 1, maxLength: 4096, description: 'May use ${VAR} references; relative to the work dir.' });
/** Where the app lives on the host: the task's own work dir, else the target's defaults (see resolveHostPaths). */
const HostPlacement = {
  workDir: Type.Optional(PathSetting),
  host: Type.Optional(HostDefaultsSchema),
};

export type HealthCheckConfig = HealthCheckSpec;
export const HealthCheckConfig = HealthCheckSpec;

export const BackupConfig = Obj({
  ...Task.properties.backup.properties,
  ...HostPlacement,
  timeoutSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: 600 }),
});
export type BackupConfig = Static<typeof BackupConfig>;

export const StopServiceConfig = Obj(
  {
    ...Task.properties.stopService.properties,
    command: Type.Optional(Command),
    pidFile: Type.Optional({ ...PathSetting, description: 'The service process; waited for (and killed when forceKill) after the command.' }),
    interpreter: Interpreter,
    ...HostPlacement,
    timeoutSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: 120, description: 'For the stop command.' }),
  },
  { rules: [{ rule: 'has(self.command) || has(self.pidFile)', message: 'stop_service needs a command or a pidFile' }] },
);
export type StopServiceConfig = Static<typeof StopServiceConfig>;

export const StartServiceConfig = Obj({
  ...Task.properties.startService.properties,
  command: Command,
  readyCheck: Type.Optional(HealthCheckSpec),
  pidFile: Type.Optional({ ...PathSetting, description: 'Ready once it names a running process (without readyCheck).' }),
  interpreter: Interpreter,
  ...HostPlacement,
});
export type StartServiceConfig = Static<typeof StartServiceConfig>;

export const CleanupConfig = Obj({
  ...Task.properties.cleanup.properties,
  versionsDir: Type.Optional({ ...PathSetting, description: 'A directory with one entry per version (releases/1.2.3); the newest keepVersions stay.' }),
  ...HostPlacement,
});
export type CleanupConfig = Static<typeof CleanupConfig>;

export const ScriptTaskConfig = Obj({
  ...Task.properties.script.properties,
  host: Type.Optional(HostDefaultsSchema),
  timeoutSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: 600 }),
});
export type ScriptTaskConfig = Static<typeof ScriptTaskConfig>;

export const DbMigrateConfig = Obj({
  ...Task.properties.dbMigrate.properties,
  interpreter: Interpreter,
  ...HostPlacement,
  timeoutSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: 1800 }),
});
export type DbMigrateConfig = Static<typeof DbMigrateConfig>;

export function createHostTaskExecutors(options: HostExecutorOptions = {}): AgentExecutor[] {
  return [
    hostTask('health_check', HealthCheckConfig, (config: HealthCheckConfig, work) => runHealthCheck(config, work)),
    hostTask('backup', BackupConfig, (config: BackupConfig, work) => runBackup(config, work)),
    hostTask('stop_service', StopServiceConfig, (config: StopServiceConfig, work) => runStopService(config, work)),
    hostTask('start_service', StartServiceConfig, (config: StartServiceConfig, work) => runStartService(config, work)),
    hostTask('cleanup', CleanupConfig, (config: CleanupConfig, work) => runCleanup(config, work)),
    hostTask('script', ScriptTaskConfig, (config: ScriptTaskConfig, work) => runScriptTask(config, work)),
    hostTask('db_migrate', DbMigrateConfig, (config: DbMigrateConfig, work) => runDbMigrate(config, work)),
  ];

  function hostTask<C>(type: HostTaskType, schema: AgentExecutor['configSchema'], body: (config: C, work: HostWork) => Promise<string>): AgentExecutor {
    return {
      type: hostTaskExecutorType(type),
      configSchema: schema,
      async run(config, context): Promise<AgentTaskResult> {
        const work = new HostWork(context, options);
        try {
          const summary = await body(config as C, work);
          work.note(summary);
          return unchangedResult(context, true, { outputTail: work.output.tail() });
        } catch (error) {
          const message = context.signal.aborted ? `${type} was cancelled (${errorText(context.signal.reason)})` : errorText(error);
          return unchangedResult(context, false, { error: message, outputTail: work.output.tail() });
        }
      },
    };
  }
}

/** What every host task needs: its context, the output tail, and a way to run commands. */
class HostWork {
  readonly output: OutputBuffer;

  constructor(
    readonly context: AgentTaskContext,
    readonly options: HostExecutorOptions,
  ) {
    this.output = new OutputBuffer(options.output);
  }

  /** A line of the agent's own, to the log and the tail. */
  note(line: string): void {
    this.context.log(line);
    this.output.push(line);
  }

  variables(paths?: HostPaths): Record<string, string> {
    return { ...taskFacts(this.context), ...this.context.env, ...(paths?.env ?? {}) };
  }

  paths(workDir: string | undefined, host: HostDefaults | undefined): HostPaths {
    return resolveHostPaths(this.context, workDir, host);
  }

  /** A path setting with `${VAR}` references, relative to the work dir. */
  path(setting: string, paths: HostPaths): string {
    const expanded = expandVariables(setting, this.variables(paths));
    return isAbsolute(expanded) ? expanded : resolve(paths.workDir, expanded);
  }

  /** Runs shell text; throws with the reason (exit code and stderr tail, timeout, cancel) when it fails. */
  async command(name: string, spec: { interpreter?: string; text: string; cwd: string; env: Record<string, string>; timeoutSeconds: number; runAs?: RunAs }): Promise<void> {
    const outcome = await runHostProcess(
      {
        name,
        interpreter: spec.interpreter ?? '/bin/bash',
        text: spec.text,
        cwd: spec.cwd,
        env: spec.env,
        timeoutMs: spec.timeoutSeconds * 1000,
        signal: this.context.signal,
        log: this.context.log,
        stateDir: this.context.stateDir,
        taskId: this.context.taskId,
        output: this.output,
        ...(spec.runAs ? { runAs: spec.runAs } : {}),
      },
      this.options,
    );
    if (!outcome.ok) throw new Error(outcome.error ?? `${name} failed`);
  }

  environment(paths: HostPaths, extra?: Readonly<Record<string, string>>, runAs?: RunAs): Record<string, string> {
    return hostEnvironment([taskFacts(this.context), this.context.env, paths.env, extra], this.context.log, runAs);
  }
}

// ---------------------------------------------------------------------------------------------------------
// health_check

/** One try: resolves with what it saw when healthy, throws with what was wrong otherwise. */

/**
 * Passes after `successThreshold` consecutive successes; fails once more than `retry` tries failed, tries
 * `intervalSeconds` apart — the operator's own health check, so a pipeline behaves alike on either kind of
 * target.
 */
async function runHealthCheck(spec: HealthCheckConfig, work: HostWork): Promise<string> {
  const { probe, subject } = await healthProbe(spec, work);
  const threshold = spec.successThreshold ?? 1;
  const allowedFailures = spec.retry ?? 3;
  const intervalMs = (spec.intervalSeconds ?? 10) * 1000;
  const timeoutMs = (spec.timeoutSeconds ?? 10) * 1000;
  const signal = work.context.signal;
  let successes = 0;
  let failures = 0;
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) await delay(intervalMs, undefined, { signal });
    signal.throwIfAborted();
    try {
      const seen = await probe(timeoutMs, signal);
      successes++;
      work.note(`${subject}: ${seen} (try ${attempt}, ${successes}/${threshold} consecutive successes)`);
      if (successes >= threshold) return `${subject}: healthy`;
    } catch (error) {
      if (signal.aborted) throw error;
      successes = 0;
      failures++;
      const line = `${subject}: ${errorText(error)}`;
      work.note(`${line} (try ${attempt}, failure ${failures} of at most ${allowedFailures + 1})`);
      if (failures > allowedFailures) throw new Error(`${line} (${failures === 1 ? 'the only try' : `${failures} tries`} failed)`);
    }
  }
}

async function healthProbe(spec: HealthCheckConfig, work: HostWork): Promise<{ probe: Probe; subject: string }> {
  const variables = work.variables();
  switch (spec.type ?? 'http') {
    case 'tcp': {
      if (!spec.host || !spec.port) throw new Error('a tcp health check needs host and port');
      const host = expandVariables(spec.host, variables);
      return { subject: `tcp ${host}:${spec.port}`, probe: tcpProbe(host, spec.port) };
    }
    case 'script': {
      if (!spec.script) throw new Error('a script health check needs script');
      const script = spec.script;
      const paths = work.paths(undefined, undefined);
      const cwd = existsSync(paths.workDir) ? paths.workDir : work.context.stateDir;
      const env = work.environment(paths);
      return {
        subject: 'script',
        probe: async (timeoutMs) => {
          await work.command('health check script', { text: script, cwd, env, timeoutSeconds: timeoutMs / 1000 });
          return 'exited 0';
        },
      };
    }
    default: {
      if (!spec.url) throw new Error('an http health check needs url');
      const url = expandVariables(spec.url, variables);
      return { subject: `GET ${url}`, probe: httpProbe(url, spec.expectStatus) };
    }
  }
}



// ---------------------------------------------------------------------------------------------------------
// backup and retention

/** `<UTC stamp>_<version>.<type>.tar.gz`: names sort by time, and the agent never touches other files. */
const ARCHIVE = /^(\d{8}T\d{9}Z)_(.+)\.(full|incremental|config_only)\.tar\.gz$/;
const CONFIG_DIRS = new Set(['conf', 'config', 'etc']);
const CONFIG_FILE = /(^\.env$)|\.(conf|cfg|ini|yaml|yml|json|toml|properties|env)$/;

interface Archive {
  name: string;
  stamp: string;
  type: string;
}

/** Archives tar builds from a file list, a time and an exclusion, all given as environment variables. */
const TAR_SCRIPT = [
  'args=(--create --gzip --file "$ARCHIVE" --directory "$SOURCE" --no-wildcards)',
  '[ -n "$EXCLUDE" ] && args+=(--exclude "$EXCLUDE")',
  '[ -n "$SINCE" ] && args+=(--newer-mtime "@$SINCE")',
  'if [ -n "$FILE_LIST" ]; then args+=(--null --files-from "$FILE_LIST"); else args+=(.); fi',
  'tar "${args[@]}"',
  'code=$?',
  // GNU tar exits 1 when a file changed while it was read: the archive is still written.
  'if [ $code -eq 1 ]; then echo "some files changed while they were archived" >&2; exit 0; fi',
  'exit $code',
].join('\n');

async function runBackup(config: BackupConfig, work: HostWork): Promise<string> {
  const { context } = work;
  const paths = work.paths(config.workDir, config.host);
  const source = config.path ? work.path(config.path, paths) : paths.workDir;
  if (!existsSync(source)) return `nothing to back up: ${source} does not exist (the app is not installed here yet)`;
  const target = join(paths.backupDir, context.app);
  await mkdir(target, { recursive: true });
  const existing = await listArchives(target);
  let type = config.type ?? 'full';
  let since: string | undefined;
  if (type === 'incremental') {
    const last = existing[0];
    if (last) since = String(Math.floor(stampTime(last.stamp) / 1000));
    else {
      work.note('no earlier backup to build on: this incremental backup is a full one');
      type = 'full';
    }
  }
  const version = (context.currentVersion ?? context.env.CURRENT_VERSION) || 'unknown';
  const name = `${archiveStamp(new Date())}_${version.replace(/[^A-Za-z0-9._+-]/g, '_')}.${type}.tar.gz`;
  const partial = join(target, `.${name}.partial`);
  let fileList: string | undefined;
  if (type === 'config_only') {
    const entries = (await readdir(source, { withFileTypes: true }))
      .filter((entry) => (entry.isDirectory() && CONFIG_DIRS.has(entry.name)) || (entry.isFile() && CONFIG_FILE.test(entry.name)))
      .map((entry) => `./${entry.name}`);
    if (entries.length === 0) return `nothing to back up: ${source} has no configuration (${[...CONFIG_DIRS].join('/, ')}/ or config files)`;
    fileList = join(context.stateDir, 'scripts', `backup-${process.pid}-${Date.now()}.list`);
    await mkdir(join(context.stateDir, 'scripts'), { recursive: true });
    await writeFile(fileList, `${entries.join('\0')}\0`);
  }
  const inside = relative(source, paths.backupDir);
  const exclude = inside !== '' && !inside.startsWith('..') && !isAbsolute(inside) ? `./${inside}` : '';
  try {
    work.note(`backing up ${source} to ${join(target, name)}${since ? ` (files changed since the last backup)` : ''}`);
    await work.command('backup', {
      text: TAR_SCRIPT,
      cwd: source,
      env: hostEnvironment([{ ARCHIVE: partial, SOURCE: source, EXCLUDE: exclude, SINCE: since ?? '', FILE_LIST: fileList ?? '' }], context.log),
      timeoutSeconds: config.timeoutSeconds ?? 600,
    });
    await rename(partial, join(target, name));
  } finally {
    await rm(partial, { force: true });
    if (fileList) await rm(fileList, { force: true });
  }
  const removed = await pruneArchives(target, config.retention ?? 5);
  if (removed.length > 0) work.note(`removed ${removed.length} old backup${removed.length === 1 ? '' : 's'}: ${removed.join(', ')}`);
  return `backed up ${source} to ${join(target, name)}`;
}

function archiveStamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('.', '');
}

function stampTime(stamp: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/.exec(stamp);
  if (!m) return 0;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7]));
}

/** Newest first. */
async function listArchives(dir: string): Promise<Archive[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const archives: Archive[] = [];
  for (const name of names) {
    const m = ARCHIVE.exec(name);
    if (m) archives.push({ name, stamp: m[1]!, type: m[3]! });
  }
  return archives.sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
}

/**
 * Keeps the newest `keep` archives — and, when the oldest of those is incremental, the archives back to the
 * full one it builds on, since an incremental archive alone restores nothing.
 */
async function pruneArchives(dir: string, keep: number): Promise<string[]> {
  const archives = await listArchives(dir);
  let last = Math.min(keep, archives.length) - 1;
  while (last >= 0 && last < archives.length - 1 && archives[last]!.type === 'incremental') last++;
  const removed = archives.slice(last + 1).map((archive) => archive.name);
  for (const name of removed) await rm(join(dir, name), { force: true });
  return removed;
}

async function runCleanup(config: CleanupConfig, work: HostWork): Promise<string> {
  const keep = config.keepVersions ?? 3;
  const paths = work.paths(config.workDir, config.host);
  const done: string[] = [];
  if (config.versionsDir) {
    const dir = work.path(config.versionsDir, paths);
    const removed = await pruneVersions(dir, keep, work);
    done.push(removed.length === 0 ? `no old versions in ${dir} (keeping ${keep})` : `removed versions ${removed.join(', ')} from ${dir} (keeping ${keep})`);
  }
  if (config.cleanBackups) {
    const dir = join(paths.backupDir, work.context.app);
    const removed = await pruneArchives(dir, keep);
    done.push(removed.length === 0 ? `no old backups in ${dir} (keeping ${keep})` : `removed backups ${removed.join(', ')} from ${dir} (keeping ${keep})`);
  }
  if (done.length === 0) return 'nothing to clean: neither versionsDir nor cleanBackups is set';
  return done.join('; ');
}

/**
 * Removes all but the newest `keep` entries of a versions directory (by modification time), never the
 * version being deployed, the one installed before, or one a symlink beside them points at (`current`).
 */
async function pruneVersions(dir: string, keep: number, work: HostWork): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const { context } = work;
  const protectedNames = new Set([context.version, context.currentVersion ?? '', context.env.APP_VERSION ?? ''].filter((name) => name !== ''));
  const protectedPaths = new Set<string>();
  for (const base of [dir, resolve(dir, '..')]) {
    for (const name of await readdir(base).catch(() => [] as string[])) {
      const path = join(base, name);
      const info = await lstat(path).catch(() => undefined);
      if (!info?.isSymbolicLink()) continue;
      const pointed = await realpath(path).catch(async () => resolve(base, await readlink(path)));
      protectedPaths.add(pointed);
    }
  }
  const candidates: { name: string; mtime: number }[] = [];
  for (const name of await readdir(dir)) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    const info = await lstat(path);
    if (info.isSymbolicLink()) continue;
    candidates.push({ name, mtime: (await stat(path)).mtimeMs });
  }
  candidates.sort((a, b) => b.mtime - a.mtime || (a.name < b.name ? 1 : -1));
  const removed: string[] = [];
  for (const { name } of candidates.slice(keep)) {
    const path = join(dir, name);
    if (protectedNames.has(name) || protectedPaths.has(await realpath(path))) {
      work.note(`keeping ${path}: it is in use`);
      continue;
    }
    await rm(path, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------------------
// services

async function runStopService(config: StopServiceConfig, work: HostWork): Promise<string> {
  const paths = work.paths(config.workDir, config.host);
  const runAs = await resolveRunAs(config.host?.user);
  const pidFile = config.pidFile ? work.path(config.pidFile, paths) : undefined;
  const graceMs = (config.gracefulTimeoutSeconds ?? 30) * 1000;
  const forceKill = config.forceKill ?? true;
  const pid = pidFile ? await readPid(pidFile) : undefined;
  const wasRunning = pid !== undefined && processRunning(pid);
  if (config.command) {
    await ensureDirectory(paths.workDir, runAs);
    await work.command('stop command', {
      interpreter: config.interpreter,
      text: config.command,
      cwd: paths.workDir,
      env: work.environment(paths, { ...(pidFile ? { PID_FILE: pidFile } : {}), ...(pid ? { SERVICE_PID: String(pid) } : {}) }, runAs),
      timeoutSeconds: config.timeoutSeconds ?? 120,
      ...(runAs ? { runAs } : {}),
    });
  }
  if (!pidFile) return 'stop command finished';
  if (!wasRunning) return `the service was not running${pid === undefined ? ` (no pid in ${pidFile})` : ` (pid ${pid} was gone)`}`;
  if (!config.command) {
    work.note(`sending SIGTERM to pid ${pid}`);
    sendSignal(pid, 'SIGTERM');
  }
  if (await exitsWithin(pid, graceMs, work.context.signal)) return `the service (pid ${pid}) stopped`;
  if (!forceKill) throw new Error(`the service (pid ${pid}) is still running ${graceMs / 1000} s after it was asked to stop, and forceKill is false`);
  work.note(`pid ${pid} still runs after ${graceMs / 1000} s: killing it`);
  sendSignal(pid, 'SIGKILL');
  if (!(await exitsWithin(pid, 5000, work.context.signal))) throw new Error(`the service (pid ${pid}) survived SIGKILL`);
  return `the service (pid ${pid}) was killed after ${graceMs / 1000} s`;
}

async function runStartService(config: StartServiceConfig, work: HostWork): Promise<string> {
  const paths = work.paths(config.workDir, config.host);
  const runAs = await resolveRunAs(config.host?.user);
  const pidFile = config.pidFile ? work.path(config.pidFile, paths) : undefined;
  const budgetMs = (config.readyTimeoutSeconds ?? 60) * 1000;
  const started = Date.now();
  await ensureDirectory(paths.workDir, runAs);
  await work.command('start command', {
    interpreter: config.interpreter,
    text: config.command,
    cwd: paths.workDir,
    env: work.environment(paths, pidFile ? { PID_FILE: pidFile } : undefined, runAs),
    timeoutSeconds: budgetMs / 1000,
    ...(runAs ? { runAs } : {}),
  });
  if (!(config.waitReady ?? true)) return 'start command finished';
  if (config.readyCheck) {
    const { probe, subject } = await healthProbe(config.readyCheck, work);
    const intervalMs = (config.readyCheck.intervalSeconds ?? 10) * 1000;
    const tryMs = (config.readyCheck.timeoutSeconds ?? 10) * 1000;
    let last = '';
    for (;;) {
      const left = budgetMs - (Date.now() - started);
      if (left <= 0) throw new Error(`the service was not ready within ${budgetMs / 1000} s: ${subject}: ${last}`);
      try {
        const seen = await probe(Math.min(tryMs, left), work.context.signal);
        return `the service is ready: ${subject}: ${seen}`;
      } catch (error) {
        if (work.context.signal.aborted) throw error;
        last = errorText(error);
        work.note(`not ready yet: ${subject}: ${last}`);
      }
      await delay(Math.min(intervalMs, Math.max(0, budgetMs - (Date.now() - started))), undefined, { signal: work.context.signal });
    }
  }
  if (pidFile) {
    for (;;) {
      const pid = await readPid(pidFile);
      if (pid !== undefined && processRunning(pid)) return `the service is running (pid ${pid})`;
      if (Date.now() - started > budgetMs) throw new Error(`the service was not running within ${budgetMs / 1000} s: ${pidFile} names no running process`);
      await delay(100, undefined, { signal: work.context.signal });
    }
  }
  return 'start command finished (no readyCheck or pidFile: the service counts as ready once its start command succeeds)';
}

async function readPid(file: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Alive and not a zombie (a stopped service may wait unreaped under an init that does not reap). */
function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = text.slice(text.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return true;
  }
}

function sendSignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

async function exitsWithin(pid: number, ms: number, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (processRunning(pid)) {
    if (Date.now() >= deadline) return false;
    await delay(50, undefined, { signal });
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// script

async function runScriptTask(config: ScriptTaskConfig, work: HostWork): Promise<string> {
  if (config.image) work.note(`script.image applies to Kubernetes targets; on a host the script runs with ${config.interpreter ?? '/bin/bash'}`);
  const paths = work.paths(config.workDir, config.host);
  const runAs = await resolveRunAs(config.host?.user);
  await ensureDirectory(paths.workDir, runAs);
  // The task's own env wins over the release variables, as in the Job a Kubernetes target runs.
  await work.command('script', {
    interpreter: config.interpreter,
    text: config.script,
    cwd: paths.workDir,
    env: work.environment(paths, config.env, runAs),
    timeoutSeconds: config.timeoutSeconds ?? 600,
    ...(runAs ? { runAs } : {}),
  });
  return 'script finished';
}

// ---------------------------------------------------------------------------------------------------------
// db_migrate

/**
 * The migration command on the host, in the app's work dir, with MIGRATION_PATH (resolved against the work
 * dir) beside the release variables. Without a command there is nothing to run: on Kubernetes targets the
 * image's entrypoint migrates, and a host has no image.
 */
async function runDbMigrate(config: DbMigrateConfig, work: HostWork): Promise<string> {
  if (!config.command) {
    throw new Error('db_migrate on a host needs dbMigrate.command: without it a Kubernetes target runs the image\'s entrypoint, and a host has no image');
  }
  if (config.image) work.note(`dbMigrate.image applies to Kubernetes targets; on a host the command runs with ${config.interpreter ?? '/bin/bash'}`);
  const paths = work.paths(config.workDir, config.host);
  const runAs = await resolveRunAs(config.host?.user);
  await ensureDirectory(paths.workDir, runAs);
  const migrationPath = config.migrationPath ? work.path(config.migrationPath, paths) : undefined;
  await work.command('migration', {
    interpreter: config.interpreter,
    text: config.command,
    cwd: paths.workDir,
    env: work.environment(paths, migrationPath ? { MIGRATION_PATH: migrationPath } : {}, runAs),
    timeoutSeconds: config.timeoutSeconds ?? 1800,
    ...(runAs ? { runAs } : {}),
  });
  return `migration finished${migrationPath ? ` (${migrationPath})` : ''}`;
}
