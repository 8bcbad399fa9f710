import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { AgentOperation } from '../../agent/src/executors/agent-executor.ts';
import { createGitPullExecutor, type GitPullExecutorConfig } from '../../agent/src/executors/gitpull-executor.ts';
import { hostContext, processAlive, readPids, removeTempDirs, tempDir } from './host-fixtures.ts';

const executor = createGitPullExecutor({ killGraceMs: 300, drainMs: 200 });

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' }).trim();
}

/** An upstream repository on disk with a helper to commit the app's "release" file. */
class Origin {
  constructor(readonly dir: string) {}

  static async create(): Promise<Origin> {
    const dir = join(await tempDir('shipway-origin-'), 'app.git');
    await mkdir(dir);
    git(dir, 'init');
    return new Origin(dir);
  }

  async commit(content: string, message = `release ${content}`): Promise<string> {
    await writeFile(join(this.dir, 'release.txt'), `${content}\n`);
    git(this.dir, 'add', '-A');
    git(this.dir, 'commit', '-m', message);
    return git(this.dir, 'rev-parse', 'HEAD');
  }

  tag(name: string): void {
    git(this.dir, 'tag', name);
  }
}

/** Build and restart record what they saw; the restart command "starts" the release the build produced. */
const BUILD = 'set -e\necho "build $GIT_COMMIT_SHORT" >> "$STEPS"\ncp release.txt built.txt\nenv | grep "^GIT_" | grep -v "^GIT_MESSAGE=" | sort > git-env.txt\nprintf "%s" "$GIT_MESSAGE" > git-message.txt';
const RESTART = 'echo "restart $(cat built.txt)" >> "$STEPS"';

interface Deploy {
  operation: AgentOperation;
  version: string;
  currentVersion?: string;
  env?: Record<string, string>;
}

describe('gitpull executor', () => {
  let origin: Origin;
  let state: string;
  let workDir: string;
  let steps: string;
  let config: GitPullExecutorConfig;

  const run = async ({ operation, version, currentVersion, env }: Deploy, overrides: Partial<GitPullExecutorConfig> = {}) => {
    const { context, logs } = hostContext(state, { operation, version, ...(currentVersion ? { currentVersion } : {}), env: { STEPS: steps, ...env } });
    const result = await executor.run({ ...config, ...overrides }, context);
    return { result, logs };
  };
  const checkedOut = () => git(workDir, 'rev-parse', 'HEAD');
  const running = async () => (await readFile(steps, 'utf8')).trim().split('\n').at(-1);

  beforeEach(async () => {
    origin = await Origin.create();
    state = await tempDir();
    const hosts = await tempDir();
    workDir = join(hosts, 'srv', 'web');
    steps = join(hosts, 'steps');
    config = { repo: origin.dir, settings: { workDir, build: BUILD, restart: RESTART, keepData: false } };
  });
  afterAll(removeTempDirs);

  it('installs by cloning and checking out a tag, then builds and restarts with the GIT_ variables', async () => {
    const v1 = await origin.commit('one', 'first release\n\nwith a body');
    origin.tag('v1.0.0');
    await origin.commit('unreleased');

    const { result } = await run({ operation: 'install', version: 'v1.0.0' });
    expect(result, result.error).toMatchObject({ status: 'succeeded', installed: true, version: 'v1.0.0' });
    expect(result.previousVersion).toBeUndefined();
    expect(checkedOut()).toBe(v1);
    expect((await readFile(steps, 'utf8')).trim().split('\n')).toEqual([`build ${v1.slice(0, 7)}`, 'restart one']);
    const env = (await readFile(join(workDir, 'git-env.txt'), 'utf8')).trim().split('\n');
    expect(env).toEqual([
      'GIT_BRANCH=',
      `GIT_COMMIT=${v1}`,
      `GIT_COMMIT_SHORT=${v1.slice(0, 7)}`,
      `GIT_REPO=${origin.dir}`,
      'GIT_TAG=v1.0.0',
    ]);
    expect(await readFile(join(workDir, 'git-message.txt'), 'utf8')).toBe('first release\n\nwith a body');
  });

  it.each([
    { kind: 'branch', ref: (_sha: string) => 'main', branch: 'main' },
    { kind: 'full commit id', ref: (sha: string) => sha, branch: '' },
    { kind: 'short commit id', ref: (sha: string) => sha.slice(0, 10), branch: '' },
  ])('checks out a $kind', async ({ ref, branch }) => {
    const sha = await origin.commit('head');
    const { result } = await run({ operation: 'install', version: ref(sha) });
    expect(result.status, result.error).toBe('succeeded');
    expect(checkedOut()).toBe(sha);
    expect(await readFile(join(workDir, 'git-env.txt'), 'utf8')).toContain(`GIT_BRANCH=${branch}\n`);
  });

  it('updates by fetching what is new upstream, and remembers the commit it replaced', async () => {
    await origin.commit('one');
    origin.tag('v1');
    expect((await run({ operation: 'install', version: 'v1' })).result.status).toBe('succeeded');

    const v2 = await origin.commit('two');
    origin.tag('v2');
    const { result } = await run({ operation: 'update', version: 'v2', currentVersion: 'v1' });
    expect(result, result.error).toMatchObject({ status: 'succeeded', installed: true, version: 'v2', previousVersion: 'v1' });
    expect(checkedOut()).toBe(v2);
    expect(await running()).toBe('restart two');
  });

  it('rolls back to the commit that was checked out before, even after its branch moved on', async () => {
    const a = await origin.commit('a');
    expect((await run({ operation: 'install', version: 'main' })).result.status).toBe('succeeded');
    await origin.commit('b'); // main moves on upstream
    const c = await origin.commit('c');
    origin.tag('v3');
    expect((await run({ operation: 'update', version: 'v3', currentVersion: 'main' })).result.status).toBe('succeeded');
    expect(checkedOut()).toBe(c);

    const { result } = await run({ operation: 'rollback', version: 'main', currentVersion: 'v3' });
    expect(result, result.error).toMatchObject({ status: 'succeeded', installed: true, version: 'main', previousVersion: 'v3' });
    expect(checkedOut()).toBe(a);
    expect(await running()).toBe('restart a');

    // Rolling back again returns to what the first rollback left.
    const again = await run({ operation: 'rollback', version: 'v3', currentVersion: 'main' });
    expect(again.result, again.result.error).toMatchObject({ status: 'succeeded', version: 'v3', previousVersion: 'main' });
    expect(checkedOut()).toBe(c);
  });

  it('rolls back to a version named by the operator that is not the remembered one', async () => {
    const one = await origin.commit('one');
    origin.tag('v1');
    await origin.commit('two');
    origin.tag('v2');
    expect((await run({ operation: 'install', version: 'v2' })).result.status).toBe('succeeded');
    await origin.commit('three');
    origin.tag('v3');
    expect((await run({ operation: 'update', version: 'v3', currentVersion: 'v2' })).result.status).toBe('succeeded');

    const { result } = await run({ operation: 'rollback', version: 'v1', currentVersion: 'v3' });
    expect(result, result.error).toMatchObject({ status: 'succeeded', version: 'v1', previousVersion: 'v3' });
    expect(checkedOut()).toBe(one);
  });

  it.each([
    { operation: 'install' as const, currentVersion: undefined, installed: false },
    { operation: 'update' as const, currentVersion: 'v1', installed: true },
  ])('an unknown ref fails on $operation naming it, and leaves the checkout alone', async ({ operation, currentVersion, installed }) => {
    const v1 = await origin.commit('one');
    origin.tag('v1');
    if (operation === 'update') expect((await run({ operation: 'install', version: 'v1' })).result.status).toBe('succeeded');
    const { result } = await run({ operation, version: 'v9.9.9', ...(currentVersion ? { currentVersion } : {}) });
    expect(result.status).toBe('failed');
    expect(result.installed).toBe(installed);
    expect(result.error).toBe(`version v9.9.9 is not a tag, branch or commit of ${origin.dir}`);
    if (operation === 'update') {
      expect(result.version).toBe('v1');
      expect(checkedOut()).toBe(v1);
    }
  });

  it('a rollback with nothing remembered and an unknown version fails naming it', async () => {
    await origin.commit('one');
    origin.tag('v1');
    expect((await run({ operation: 'install', version: 'v1' })).result.status).toBe('succeeded');
    const { result } = await run({ operation: 'rollback', version: 'v0', currentVersion: 'v1' });
    expect(result).toMatchObject({ status: 'failed', installed: true, version: 'v1' });
    expect(result.error).toContain('version v0 is not a tag, branch or commit');
    expect(result.error).toContain('no previous commit is remembered');
  });

  it('a failing build fails the update with its exit code, and a rollback restores the previous release', async () => {
    await origin.commit('one');
    origin.tag('v1');
    expect((await run({ operation: 'install', version: 'v1' })).result.status).toBe('succeeded');
    await origin.commit('two');
    origin.tag('v2');
    const broken = await run({ operation: 'update', version: 'v2', currentVersion: 'v1' }, { settings: { workDir, build: 'echo "compile error" >&2; exit 2', restart: RESTART, keepData: false } });
    expect(broken.result).toMatchObject({ status: 'failed', installed: true, version: 'v1' });
    expect(broken.result.error).toContain('build command exited with code 2');
    expect(broken.result.error).toContain('compile error');

    const { result } = await run({ operation: 'rollback', version: 'v1', currentVersion: 'v1' });
    expect(result, result.error).toMatchObject({ status: 'succeeded', version: 'v1' });
    expect(await running()).toBe('restart one');
  });

  it('a build that overruns the operation timeout has its process group killed', async () => {
    await origin.commit('one');
    const pids = join(await tempDir(), 'pids');
    const { result } = await run(
      { operation: 'install', version: 'main', env: { PIDS: pids } },
      { settings: { workDir, build: 'sleep 300 & echo $! >> "$PIDS"\nsleep 300', keepData: false }, timeouts: { install: 1, update: 300, rollback: 180, uninstall: 120 } },
    );
    expect(result.status).toBe('failed');
    expect(result.error).toContain('build command timed out');
    for (const pid of await readPids(pids)) expect(processAlive(pid)).toBe(false);
  });

  it.each([
    { keepData: false, kept: false },
    { keepData: true, kept: true },
  ])('uninstall removes the checkout unless keepData is set (keepData $keepData)', async ({ keepData, kept }) => {
    await origin.commit('one');
    expect((await run({ operation: 'install', version: 'main' })).result.status).toBe('succeeded');
    const { result } = await run({ operation: 'uninstall', version: 'main', currentVersion: 'main' }, { ...config, settings: { ...config.settings, keepData } });
    expect(result).toMatchObject({ status: 'succeeded', installed: false, previousVersion: 'main' });
    expect(existsSync(workDir)).toBe(kept);
  });

  it('refuses to clone over a directory that is not a checkout', async () => {
    await origin.commit('one');
    await mkdir(workDir, { recursive: true });
    await writeFile(join(workDir, 'precious'), 'data');
    const { result } = await run({ operation: 'install', version: 'main' });
    expect(result.status).toBe('failed');
    expect(result.error).toContain('not a git checkout: refusing to clone over it');
    expect(await readFile(join(workDir, 'precious'), 'utf8')).toBe('data');
  });

  it('never shows the credentials of a clone URL', async () => {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const { result, logs } = await run({ operation: 'install', version: 'main' }, { repo: `http://deployer:s3cret-token@127.0.0.1:${port}/app.git` });
      expect(result.status).toBe('failed');
      expect(result.error).toContain('unable to access');
      expect(logs).toContain(`cloning http://***@127.0.0.1:${port}/app.git into ${workDir}`);
      expect(JSON.stringify({ result, logs })).not.toContain('s3cret-token');
    } finally {
      server.close();
    }
  });

  it('follows a repository that moved', async () => {
    await origin.commit('one');
    expect((await run({ operation: 'install', version: 'main' })).result.status).toBe('succeeded');
    const moved = await Origin.create();
    await moved.commit('elsewhere');
    moved.tag('v2');
    const { result, logs } = await run({ operation: 'update', version: 'v2', currentVersion: 'main' }, { repo: moved.dir });
    expect(result.status, result.error).toBe('succeeded');
    expect(logs.some((line) => line.startsWith('origin moves from'))).toBe(true);
    expect(await running()).toBe('restart elsewhere');
  });
});
