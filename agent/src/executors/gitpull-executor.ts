/**
 * Git-pull deployments: the app is a checkout on the host. Install and update clone the repository into the
 * work dir (or fetch when the checkout is there), check out the version — a tag, a branch or a commit — and
 * run the build and restart commands. The commit checked out before is remembered in the state dir, so a
 * rollback returns to exactly that commit even when a branch has moved on since.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { PATTERNS } from '../../../operator/src/api/patterns.ts';
import { ReleaseAppSpec } from '../../../operator/src/api/release-app.ts';
import { Obj, Type, type Static } from '../../../operator/src/api/schema-helpers.ts';
import type { AgentExecutor, AgentTaskContext, AgentTaskResult } from './agent-executor.ts';
import { OutputBuffer } from './output-buffer.ts';
import {
  apiBlock,
  DEFAULT_OPERATION_TIMEOUTS,
  ensureDirectory,
  errorText,
  HostDefaultsSchema,
  hostEnvironment,
  operationResult,
  OperationTimeoutsSchema,
  resolveHostPaths,
  resolveRunAs,
  runHostProcess,
  taskFacts,
  type HostExecutorOptions,
  type RunAs,
} from './script-executor.ts';

export type GitPullSettings = NonNullable<ReleaseAppSpec['gitpull']>;
export const GitPullSettingsSchema = apiBlock<GitPullSettings>(ReleaseAppSpec.properties.gitpull);

export const GitPullExecutorConfig = Obj({
  /** `artifact.git.repo` of the ReleaseApp: a clone URL or a path on the host. */
  repo: apiBlock<string>(ReleaseAppSpec.properties.artifact.properties.git.properties.repo),
  settings: GitPullSettingsSchema,
  host: Type.Optional(HostDefaultsSchema),
  /** The whole operation — git, build and restart — within these seconds (defaults 600/300/180/120). */
  timeouts: Type.Optional(OperationTimeoutsSchema),
});
export type GitPullExecutorConfig = Static<typeof GitPullExecutorConfig>;

/** What the agent remembers of a checkout between tasks. */
interface CheckoutState {
  workDir: string;
  current?: CheckedOut;
  previous?: CheckedOut;
}

interface CheckedOut {
  version: string;
  commit: string;
}

interface Resolved {
  commit: string;
  kind: 'tag' | 'branch' | 'commit';
}

const VERSION_REF = new RegExp(PATTERNS.versionRef.regex);

/** A clone URL as it may be shown: credentials in it (`https://user:token@host/...`) are hidden. */
export function displayRepo(repo: string): string {
  return repo.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@');
}

export function createGitPullExecutor(options: HostExecutorOptions = {}): AgentExecutor<GitPullExecutorConfig> {
  return {
    type: 'gitpull',
    configSchema: GitPullExecutorConfig,
    run: (config, context) => new GitPullRun(config, context, options).run(),
  };
}

class GitPullRun {
  private readonly output: OutputBuffer;
  private readonly deadline: AbortSignal;
  private readonly signal: AbortSignal;
  private readonly timeoutMs: number;
  private readonly startedAt = Date.now();
  private runAs: RunAs | undefined;
  private workDir = '';
  private pathEnv: Record<string, string> = {};
  /** Why the build or restart failed. */
  private error: string | undefined;

  constructor(
    private readonly config: GitPullExecutorConfig,
    private readonly context: AgentTaskContext,
    private readonly options: HostExecutorOptions,
  ) {
    this.output = new OutputBuffer(options.output);
    this.timeoutMs = (config.timeouts?.[context.operation] ?? DEFAULT_OPERATION_TIMEOUTS[context.operation]) * 1000;
    this.deadline = AbortSignal.timeout(this.timeoutMs);
    this.signal = AbortSignal.any([context.signal, this.deadline]);
  }

  async run(): Promise<AgentTaskResult> {
    try {
      if (this.config.repo.startsWith('-')) throw new Error(`repository ${displayRepo(this.config.repo)} is refused: it would be read as a git option`);
      this.runAs = await resolveRunAs(this.config.host?.user);
      const paths = resolveHostPaths(this.context, this.config.settings.workDir, this.config.host);
      this.workDir = paths.workDir;
      this.pathEnv = paths.env;
      switch (this.context.operation) {
        case 'install':
        case 'update':
          return await this.deploy();
        case 'rollback':
          return await this.rollback();
        case 'uninstall':
          return await this.uninstall();
      }
    } catch (error) {
      return this.failed(this.describe(error));
    }
  }

  private async deploy(): Promise<AgentTaskResult> {
    const { version } = this.context;
    if (!VERSION_REF.test(version)) throw new Error(`version ${JSON.stringify(version)} is not a git ref: it must be ${PATTERNS.versionRef.meaning}`);
    const state = await this.loadState();
    const { git, cloned } = await this.checkout();
    const before = cloned ? undefined : await this.revParse(git, 'HEAD');
    const resolved = await this.resolve(git, version);
    if (!resolved) throw new Error(`version ${version} is not a tag, branch or commit of ${displayRepo(this.config.repo)}`);
    // Deploying the commit that is already there (a retry, a redeploy) leaves the way back as it was.
    const previous = before === undefined ? undefined : before === resolved.commit ? state.previous : this.describeHead(state, before);
    await this.switchTo(git, resolved.commit);
    await this.saveState({ workDir: this.workDir, current: { version, commit: resolved.commit }, ...(previous ? { previous } : {}) });
    const ok = await this.buildAndRestart(git, version, resolved);
    return this.finish(ok, { version, ...(previous ? { previousVersion: previous.version } : {}) });
  }

  /** What is checked out now: the last deploy's version, unless someone moved the checkout since. */
  private describeHead(state: CheckoutState, head: string): CheckedOut {
    if (state.current?.commit === head) return state.current;
    return { version: this.context.currentVersion ?? head.slice(0, 12), commit: head };
  }

  private async rollback(): Promise<AgentTaskResult> {
    if (!this.isCheckout()) throw new Error(`nothing to roll back: ${this.workDir} is not a git checkout`);
    const state = await this.loadState();
    const git = this.git(this.workDir);
    const before = await this.revParse(git, 'HEAD');
    const wanted = this.context.version;
    let target: CheckedOut & { resolved?: Resolved };
    if (state.previous && (wanted === '' || wanted === state.previous.version)) {
      target = state.previous;
      this.context.log(`rolling back to ${target.version} at the commit it had: ${target.commit}`);
    } else {
      if (!VERSION_REF.test(wanted)) throw new Error(`version ${JSON.stringify(wanted)} is not a git ref: it must be ${PATTERNS.versionRef.meaning}`);
      // An emergency rollback should not need the remote: a ref known locally is used as it is.
      let resolved = await this.resolve(git, wanted);
      if (!resolved) {
        await this.fetch(git);
        resolved = await this.resolve(git, wanted);
      }
      if (!resolved) {
        throw new Error(`version ${wanted} is not a tag, branch or commit of ${displayRepo(this.config.repo)}${state.previous ? `, and the previous version here is ${state.previous.version}` : ', and no previous commit is remembered here'}`);
      }
      target = { version: wanted, commit: resolved.commit, resolved };
    }
    await this.switchTo(git, target.commit);
    const from = before === undefined ? undefined : this.describeHead(state, before);
    await this.saveState({ workDir: this.workDir, current: { version: target.version, commit: target.commit }, ...(from ? { previous: from } : {}) });
    const resolved = target.resolved ?? (await this.resolve(git, target.version)) ?? { commit: target.commit, kind: 'commit' as const };
    const ok = await this.buildAndRestart(git, target.version, { ...resolved, commit: target.commit });
    return this.finish(ok, { version: target.version, ...(from ? { previousVersion: from.version } : {}) });
  }

  private async uninstall(): Promise<AgentTaskResult> {
    // The app's own setting; an operator that predates it sends only KEEP_DATA.
    const keep = this.config.settings.keepData ?? this.context.env.KEEP_DATA === 'true';
    if (!this.isCheckout()) {
      if (existsSync(this.workDir)) this.context.log(`${this.workDir} is not a git checkout; it is left as it is`);
    } else if (keep) {
      this.context.log(`keepData: ${this.workDir} is kept`);
    } else {
      await rm(this.workDir, { recursive: true, force: true });
      this.context.log(`removed ${this.workDir}`);
    }
    await rm(this.statePath(), { force: true });
    return this.finish(true, {});
  }

  // -------------------------------------------------------------------------------------------------------
  // git

  private git(baseDir: string): SimpleGit {
    return simpleGit({
      baseDir,
      abort: this.signal,
      allowEnvironment: ['GIT_TERMINAL_PROMPT'],
      ...(this.runAs ? { spawnOptions: { uid: this.runAs.uid, gid: this.runAs.gid } } : {}),
    }).env({
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: this.runAs?.home ?? process.env.HOME ?? '/',
      // A credential prompt would wait forever for a terminal the agent does not have.
      GIT_TERMINAL_PROMPT: '0',
      // git's messages end up in errors; they are only recognisable in one language.
      LC_ALL: 'C',
      ...(process.env.SSH_AUTH_SOCK ? { SSH_AUTH_SOCK: process.env.SSH_AUTH_SOCK } : {}),
    });
  }

  private isCheckout(): boolean {
    return existsSync(join(this.workDir, '.git'));
  }

  /** The work dir as a checkout of the repository, cloned when absent and fetched when present. */
  private async checkout(): Promise<{ git: SimpleGit; cloned: boolean }> {
    if (this.isCheckout()) {
      const git = this.git(this.workDir);
      const remotes = await git.getRemotes(true);
      const origin = remotes.find((remote) => remote.name === 'origin');
      if (!origin) await git.addRemote('origin', this.config.repo);
      else if (origin.refs.fetch !== this.config.repo) {
        this.context.log(`origin moves from ${displayRepo(origin.refs.fetch)} to ${displayRepo(this.config.repo)}`);
        await git.remote(['set-url', 'origin', this.config.repo]);
      }
      this.context.progress(10, 'fetching');
      await this.fetch(git);
      return { git, cloned: false };
    }
    if (existsSync(this.workDir) && (await readdir(this.workDir)).length > 0) {
      throw new Error(`work dir ${this.workDir} exists, is not empty and is not a git checkout: refusing to clone over it`);
    }
    await ensureDirectory(dirname(this.workDir), this.runAs);
    this.context.progress(10, 'cloning');
    this.context.log(`cloning ${displayRepo(this.config.repo)} into ${this.workDir}`);
    await this.git(dirname(this.workDir)).clone(this.config.repo, this.workDir, ['--no-checkout']);
    return { git: this.git(this.workDir), cloned: true };
  }

  private async fetch(git: SimpleGit): Promise<void> {
    this.context.log(`fetching ${displayRepo(this.config.repo)}`);
    await git.fetch(['--prune', '--tags', '--force', 'origin']);
  }

  private async revParse(git: SimpleGit, ref: string): Promise<string | undefined> {
    try {
      const sha = (await git.raw(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`])).trim();
      return sha === '' ? undefined : sha;
    } catch (error) {
      if (this.signal.aborted) throw error;
      return undefined;
    }
  }

  /** A tag first, then a branch of origin, then a commit id (a tag and a branch may share a name). */
  private async resolve(git: SimpleGit, version: string): Promise<Resolved | undefined> {
    const tag = await this.revParse(git, `refs/tags/${version}`);
    if (tag) return { commit: tag, kind: 'tag' };
    const branch = await this.revParse(git, `refs/remotes/origin/${version}`);
    if (branch) return { commit: branch, kind: 'branch' };
    if (/^[0-9a-f]{4,64}$/i.test(version)) {
      const commit = await this.revParse(git, version);
      if (commit) return { commit, kind: 'commit' };
    }
    return undefined;
  }

  private async switchTo(git: SimpleGit, commit: string): Promise<void> {
    this.context.progress(40, `checking out ${commit.slice(0, 12)}`);
    this.context.log(`checking out ${commit}`);
    // Deployed trees are not edited by hand; local changes to tracked files would only block the checkout.
    await git.raw(['checkout', '--force', '--detach', commit]);
  }

  // -------------------------------------------------------------------------------------------------------
  // build and restart

  private async buildAndRestart(git: SimpleGit, version: string, resolved: Resolved): Promise<boolean> {
    const { build, restart } = this.config.settings;
    if (!build && !restart) return true;
    const tags = (await git.raw(['tag', '--points-at', resolved.commit])).split('\n').map((t) => t.trim()).filter((t) => t !== '');
    const gitEnv = {
      GIT_REPO: displayRepo(this.config.repo),
      GIT_COMMIT: resolved.commit,
      GIT_COMMIT_SHORT: (await git.raw(['rev-parse', '--short', resolved.commit])).trim(),
      GIT_TAG: resolved.kind === 'tag' ? version : (tags[0] ?? ''),
      GIT_BRANCH: resolved.kind === 'branch' ? version : '',
      GIT_MESSAGE: (await git.raw(['log', '-1', '--format=%B', resolved.commit])).trim(),
    };
    const facts = taskFacts(this.context);
    const env = hostEnvironment([facts, this.context.env, this.pathEnv, gitEnv], this.context.log, this.runAs);
    const steps = [
      { name: 'build command', text: build, percent: 60 },
      { name: 'restart command', text: restart, percent: 80 },
    ];
    for (const step of steps) {
      if (!step.text) continue;
      this.context.progress(step.percent, `running the ${step.name}`);
      const remaining = this.timeoutMs - (Date.now() - this.startedAt);
      const outcome = await runHostProcess(
        {
          name: step.name,
          interpreter: '/bin/bash',
          text: step.text,
          cwd: this.workDir,
          env,
          timeoutMs: Math.max(1, remaining),
          signal: this.context.signal,
          log: this.context.log,
          stateDir: this.context.stateDir,
          taskId: this.context.taskId,
          output: this.output,
          ...(this.runAs ? { runAs: this.runAs } : {}),
        },
        this.options,
      );
      if (!outcome.ok) {
        this.error = outcome.timedOut ? `${outcome.error} (the ${this.context.operation} has ${this.timeoutMs / 1000} s in all)` : outcome.error;
        return false;
      }
    }
    return true;
  }

  // -------------------------------------------------------------------------------------------------------
  // state and results

  private statePath(): string {
    const key = createHash('sha256').update(this.workDir).digest('hex').slice(0, 12);
    return join(this.context.stateDir, 'gitpull', `${this.context.app}-${key}.json`);
  }

  private async loadState(): Promise<CheckoutState> {
    try {
      const state = JSON.parse(await readFile(this.statePath(), 'utf8')) as CheckoutState;
      return state.workDir === this.workDir ? state : { workDir: this.workDir };
    } catch {
      return { workDir: this.workDir };
    }
  }

  private async saveState(state: CheckoutState): Promise<void> {
    const path = this.statePath();
    await mkdir(dirname(path), { recursive: true });
    // A crash mid-write must leave the old state, not half a file that forgets the previous commit.
    await writeFile(`${path}.tmp`, JSON.stringify(state, null, 2));
    await rename(`${path}.tmp`, path);
  }

  private finish(ok: boolean, details: { version?: string; previousVersion?: string }): AgentTaskResult {
    if (ok) this.context.progress(100, `${this.context.operation} finished`);
    return operationResult(this.context, ok, {
      ...details,
      outputTail: this.output.tail(),
      ...(ok ? {} : { error: this.error ?? `${this.context.operation} failed` }),
    });
  }

  private failed(error: string): AgentTaskResult {
    return operationResult(this.context, false, { error, outputTail: this.output.tail() });
  }

  private describe(error: unknown): string {
    // git quotes the URL it failed on, credentials and all.
    const text = errorText(error).trim().replaceAll(this.config.repo, displayRepo(this.config.repo));
    if (this.deadline.aborted && !this.context.signal.aborted) return `${this.context.operation} timed out after ${this.timeoutMs / 1000} s (${text})`;
    if (this.context.signal.aborted) return `${this.context.operation} was cancelled (${errorText(this.context.signal.reason)})`;
    return text;
  }

}
